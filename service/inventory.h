/* inventory.h - handlers of valv.v1.Inventory (rows of the method table). */
#ifndef VALV_INVENTORY_H
#define VALV_INVENTORY_H

#include "methods.h"

void inventory_create_asset(call *c, const ProtobufCMessage *request);
void inventory_get_asset(call *c, const ProtobufCMessage *request);
void inventory_batch_get_assets(call *c, const ProtobufCMessage *request);
void inventory_update_asset(call *c, const ProtobufCMessage *request);
void inventory_delete_asset(call *c, const ProtobufCMessage *request);
void inventory_undelete_asset(call *c, const ProtobufCMessage *request);
void inventory_list_assets(call *c, const ProtobufCMessage *request);
void inventory_create_link(call *c, const ProtobufCMessage *request);
void inventory_delete_link(call *c, const ProtobufCMessage *request);
void inventory_list_links(call *c, const ProtobufCMessage *request);
void inventory_export_assets(call *c, const ProtobufCMessage *request);

#endif
