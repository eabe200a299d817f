/* review.h - handlers of valv.v1.Review (rows of the method table). */
#ifndef VALV_REVIEW_H
#define VALV_REVIEW_H

#include "methods.h"

void review_list_queue(call *c, const ProtobufCMessage *request);
void review_approve_asset(call *c, const ProtobufCMessage *request);
void review_return_asset(call *c, const ProtobufCMessage *request);

#endif
