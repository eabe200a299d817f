/* health_cmd.c - valv health: grpc.health.v1.Health/Check, or Watch. */
#include "commands.h"
#include "grpc/health/v1/health.pb-c.h"

#define HEALTH_METHOD_PREFIX "/grpc.health.v1.Health/"

enum { OPT_SERVICE = ARGS_OPT_FIRST_COMMAND_OPTION, OPT_WATCH };

static const args_command health_command = {
    .path = "valv health",
    .usage = "Usage: valv health [--service NAME] [--watch]\n"
             "\n"
             "Asks valvd whether it is serving (the standard gRPC health check) and\n"
             "prints SERVING, NOT_SERVING or UNKNOWN. Exits 0 only when SERVING.\n"
             "\n"
             "Flags:\n"
             "  --service NAME   a single service, e.g. valv.v1.Inventory (default: the\n"
             "                   whole server)\n"
             "  --watch          keep asking: print the status now and each time it\n"
             "                   changes, until Ctrl-C (exit 0) or the server goes away\n"
             "                   (exit 1)\n"
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Examples:\n"
             "  valv health\n"
             "  valv --addr 127.0.0.1:50051 health --service valv.v1.Inventory\n"
             "  valv health --watch\n",
};

/* The status's name: "SERVING". */
static const char *status_name(const Grpc__Health__V1__HealthCheckResponse *resp)
{
    const ProtobufCEnumValue *status = protobuf_c_enum_descriptor_get_value(
        &grpc__health__v1__health_check_response__serving_status__descriptor, resp->status);
    return status != NULL ? status->name : "UNKNOWN";
}

static int print_status(const cmd_session *s, const ProtobufCMessage *message, void *arg)
{
    (void)arg;
    return cmd_print_value(s, "status", status_name((const void *)message));
}

static int check_once(cmd_session *s, const Grpc__Health__V1__HealthCheckRequest *req)
{
    Grpc__Health__V1__HealthCheckResponse *resp = NULL;
    int rc = cmd_call(s, HEALTH_METHOD_PREFIX "Check", &req->base,
                      &grpc__health__v1__health_check_response__descriptor,
                      (ProtobufCMessage **)&resp);
    if (rc != ARGS_EXIT_OK)
        return rc;
    rc = cmd_print_value(s, "status", status_name(resp));
    if (rc == ARGS_EXIT_OK &&
        resp->status != GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
        rc = ARGS_EXIT_FAILED;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}

int cmd_health(cmd_session *s, int argc, char **argv)
{
    static const struct option options[] = {
        {"service", required_argument, NULL, OPT_SERVICE},
        {"watch", no_argument, NULL, OPT_WATCH},
        ARGS_COMMON_OPTIONS,
        {0},
    };
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    bool watch = false;
    args_parser p = args_parser_init(&health_command, &s->globals, argc, argv, options);
    int opt;
    while ((opt = args_next(&p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            return p.exit_code;
        case OPT_SERVICE:
            req.service = optarg;
            break;
        case OPT_WATCH:
            watch = true;
            break;
        }
    }
    int rc = args_operands(&p, 0, 0, "");
    if (rc != ARGS_EXIT_OK)
        return rc;
    if (!watch)
        return check_once(s, &req);
    return cmd_follow_stream(s, HEALTH_METHOD_PREFIX "Watch", &req.base,
                             &grpc__health__v1__health_check_response__descriptor, print_status,
                             NULL, NULL);
}
