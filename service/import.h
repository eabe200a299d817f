/* import.h - valv.v1.Inventory/ImportAssets (a row of the method table). */
#ifndef VALV_IMPORT_H
#define VALV_IMPORT_H

#include "methods.h"

void import_assets(call *c, const ProtobufCMessage *request);

#endif
