/* audit.h - handlers of valv.v1.Audit (rows of the method table). */
#ifndef VALV_AUDIT_H
#define VALV_AUDIT_H

#include "methods.h"

void audit_list_events(call *c, const ProtobufCMessage *request);
void audit_verify_log(call *c, const ProtobufCMessage *request);

#endif
