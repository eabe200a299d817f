/* health.h - handlers of grpc.health.v1.Health (rows of the method table). */
#ifndef VALV_HEALTH_H
#define VALV_HEALTH_H

#include "methods.h"

void health_check(call *c, const ProtobufCMessage *request);
void health_watch(call *c, const ProtobufCMessage *request);

#endif
