/* protection_cmd.c - valv classify, valv protect, valv explain: an asset's
 * classification and security protection, and where its effective
 * protection comes from. */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "valv/v1/inventory.pb-c.h"

enum {
    /* One option per dimension, in args_dimension order. */
    OPT_CONFIDENTIALITY = ARGS_OPT_FIRST_COMMAND_OPTION,
    OPT_INTEGRITY,
    OPT_AVAILABILITY,
    OPT_TRACEABILITY,
    OPT_RATIONALE,
    OPT_SECURITY_CLASS,
    OPT_SECURITY_SENSITIVE,
    OPT_NO_SECURITY_SENSITIVE,
    OPT_PROTECTED_OBJECT,
    OPT_NO_PROTECTED_OBJECT,
    OPT_DECISION_REF
};

/* "--confidentiality" and friends, as the usage errors name them. */
#define LEVEL_FLAG_MAX 32

static const args_command classify_command = {
    .path = "valv classify",
    .usage =
        "Usage: valv classify NAME [K0-4] [R0-4] [T0-4] [S0-4] [flags]\n"
        "\n"
        "Sets the owner's classification of an asset: the consequence levels given,\n"
        "and nothing else. Assets that process, store or host it inherit them\n"
        "(see 'valv explain').\n"
        "\n"
        "The short form names a dimension by its Swedish letter and a level number:\n"
        "  K konfidentialitet (confidentiality)  R riktighet (integrity)\n"
        "  T tillgänglighet (availability)        S spårbarhet (traceability)\n"
        "\n"
        "A level L is a number or its name, in English or Swedish, in any case:\n"
        "  0 negligible     försumbar, ingen\n"
        "  1 moderate       måttlig\n"
        "  2 significant    betydande\n"
        "  3 serious        allvarlig\n"
        "  4 very-serious   synnerligen-allvarlig\n"
        "\n"
        "Flags:\n"
        "  --confidentiality L    K: harm if the information reaches the wrong people\n"
        "  --integrity L          R: harm if it is wrong or changed\n"
        "  --availability L       T: harm if it cannot be reached when needed\n"
        "  --traceability L       S: harm if no one can tell who did what\n"
        "  --rationale TEXT       why these levels ('' clears it)\n"
        ARGS_ETAG_HELP
        ARGS_REQUEST_ID_HELP
        "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
        "Examples:\n"
        "  valv classify personakter K3 R2 T2\n"
        "  valv classify personakter --confidentiality allvarlig \\\n"
        "      --rationale 'känsliga personuppgifter'\n",
};

static const args_command protect_command = {
    .path = "valv protect",
    .usage =
        "Usage: valv protect NAME [flags]\n"
        "\n"
        "Sets an asset's security protection (säkerhetsskydd): the values given, and\n"
        "nothing else. A security class of restricted or higher, a security\n"
        "sensitive activity or a protected object flags the asset, and everything\n"
        "that inherits from it, for the security protection chief's review.\n"
        "\n"
        "Flags:\n"
        "  --security-class CLASS    not-classified, restricted, confidential, secret or\n"
        "                            top-secret; in Swedish ingen, begränsat-hemlig,\n"
        "                            konfidentiell, hemlig or kvalificerat-hemlig\n"
        "  --security-sensitive      the activity matters to Sweden's security\n"
        "                            (säkerhetskänslig verksamhet)\n"
        "  --no-security-sensitive   it does not\n"
        "  --protected-object        a designated skyddsobjekt (facilities only)\n"
        "  --no-protected-object     it is not\n"
        "  --decision-ref REF        the analysis or decision these rest on ('' clears it)\n"
        "  --etag ETAG               fail with ABORTED if the asset changed since you read it\n"
        "  --request-id ID           identifies the request in the audit log\n"
        "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
        "Examples:\n"
        "  valv protect personakter --security-class hemlig --decision-ref 'SSA 2025-14'\n"
        "  valv protect stadshuset --protected-object\n",
};

static const args_command explain_command = {
    .path = "valv explain",
    .usage =
        "Usage: valv explain NAME\n"
        "\n"
        "Shows where an asset's protection comes from. For each dimension: the\n"
        "asset's own value, its effective value (the highest of its own and of\n"
        "everything linked into it, along links) and the asset the effective value\n"
        "comes from ('own' when it is the asset itself). Then whether the asset is\n"
        "flagged for the security protection chief's review, and that review.\n"
        "\n"
        "-o csv prints the same table as CSV; -o json prints the asset.\n"
        "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
        "Example:\n"
        "  valv explain sr-kungsholmen\n",
};

/* Sets dimension d of c to level and adds its path to the mask. */
static int set_level(Valv__V1__Classification *c, args_dimension d, Valv__V1__Level level,
                     args_list *paths)
{
    Valv__V1__Level *levels[ARGS_DIMENSIONS] = {
        &c->confidentiality, &c->integrity, &c->availability, &c->traceability,
    };
    *levels[d] = level;
    return args_mask_add(paths, "classification.%s", args_dimension_field(d));
}

/* ---- The flags of classify and protect ------------------------------------------- */

/* What classify and protect gather from their line: the UpdateAsset patch,
 * and the part of the asset each sets, which the command attaches to the
 * patch. */
typedef struct {
    cmd_asset_patch patch;
    Valv__V1__Classification classification; /* classify's */
    Valv__V1__SecurityProtection security;    /* protect's */
} protection_change;

#define PROTECTION_CHANGE_INIT                                                            \
    {.patch = CMD_ASSET_PATCH_INIT, .classification = VALV__V1__CLASSIFICATION__INIT,     \
     .security = VALV__V1__SECURITY_PROTECTION__INIT}

/* Parses the line of classify or protect into change. One parse serves
 * both: each command's option table admits only its own flags (and the
 * write flags), and their codes differ. Checks that NAME and at most
 * max_operands operands in all follow. Returns ARGS_END to go on, or
 * ARGS_STOP when the command is done: --help shown or an error printed;
 * exit with p->exit_code. */
static int parse_protection(cmd_session *s, const args_command *cmd,
                            const struct option *options, int max_operands, int argc,
                            char **argv, protection_change *change, args_parser *p)
{
    args_list *paths = &change->patch.paths;
    int rc = ARGS_EXIT_OK;
    *p = args_parser_init(cmd, &s->globals, argc, argv, options);
    int opt;
    while (rc == ARGS_EXIT_OK && (opt = args_next(p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            return ARGS_STOP;
        case OPT_CONFIDENTIALITY:
        case OPT_INTEGRITY:
        case OPT_AVAILABILITY:
        case OPT_TRACEABILITY: {
            args_dimension d = (args_dimension)(opt - OPT_CONFIDENTIALITY);
            char flag[LEVEL_FLAG_MAX];
            Valv__V1__Level level;
            snprintf(flag, sizeof flag, "--%s", args_dimension_field(d));
            rc = args_parse_level(cmd, flag, optarg, &level);
            if (rc == ARGS_EXIT_OK)
                rc = set_level(&change->classification, d, level, paths);
            break;
        }
        case OPT_RATIONALE:
            change->classification.rationale = optarg;
            rc = args_mask_add(paths, "classification.rationale");
            break;
        case OPT_SECURITY_CLASS:
            rc = args_parse_security_class(cmd, "--security-class", optarg,
                                           &change->security.security_class);
            if (rc == ARGS_EXIT_OK)
                rc = args_mask_add(paths, "security.security_class");
            break;
        case OPT_SECURITY_SENSITIVE:
        case OPT_NO_SECURITY_SENSITIVE:
            change->security.security_sensitive = opt == OPT_SECURITY_SENSITIVE;
            rc = args_mask_add(paths, "security.security_sensitive");
            break;
        case OPT_PROTECTED_OBJECT:
        case OPT_NO_PROTECTED_OBJECT:
            change->security.protected_object = opt == OPT_PROTECTED_OBJECT;
            rc = args_mask_add(paths, "security.protected_object");
            break;
        case OPT_DECISION_REF:
            change->security.decision_ref = optarg;
            rc = args_mask_add(paths, "security.decision_ref");
            break;
        default:
            rc = args_write_option(opt, optarg, &change->patch.write);
            break;
        }
    }
    if (rc == ARGS_EXIT_OK)
        rc = args_operands(p, 1, max_operands, "NAME");
    p->exit_code = rc;
    return rc == ARGS_EXIT_OK ? ARGS_END : ARGS_STOP;
}

/* ---- valv classify ------------------------------------------------------------ */

int cmd_classify(cmd_session *s, int argc, char **argv)
{
    static const struct option options[] = {
        {"confidentiality", required_argument, NULL, OPT_CONFIDENTIALITY},
        {"integrity", required_argument, NULL, OPT_INTEGRITY},
        {"availability", required_argument, NULL, OPT_AVAILABILITY},
        {"traceability", required_argument, NULL, OPT_TRACEABILITY},
        {"rationale", required_argument, NULL, OPT_RATIONALE},
        ARGS_WRITE_OPTIONS,
        ARGS_COMMON_OPTIONS,
        {0},
    };
    const args_command *cmd = &classify_command;
    protection_change change = PROTECTION_CHANGE_INIT;
    args_parser p;
    int rc = ARGS_EXIT_OK;

    /* NAME, then the short form: at most one per dimension. */
    if (parse_protection(s, cmd, options, 1 + ARGS_DIMENSIONS, argc, argv, &change, &p) ==
        ARGS_STOP) {
        rc = p.exit_code;
        goto done;
    }
    for (int i = optind + 1; i < argc && rc == ARGS_EXIT_OK; i++) {
        args_dimension d;
        Valv__V1__Level level;
        rc = args_parse_short_level(cmd, argv[i], &d, &level);
        if (rc == ARGS_EXIT_OK)
            rc = set_level(&change.classification, d, level, &change.patch.paths);
    }
    if (rc != ARGS_EXIT_OK)
        goto done;
    change.patch.asset.classification = &change.classification;
    rc = cmd_update_asset(s, &p, &change.patch,
                          "nothing to change: give levels (K3 R2 T2 S1, or "
                          "--confidentiality L ...) or --rationale");
done:
    cmd_asset_patch_free(&change.patch);
    return rc;
}

/* ---- valv protect -------------------------------------------------------------- */

int cmd_protect(cmd_session *s, int argc, char **argv)
{
    static const struct option options[] = {
        {"security-class", required_argument, NULL, OPT_SECURITY_CLASS},
        {"security-sensitive", no_argument, NULL, OPT_SECURITY_SENSITIVE},
        {"no-security-sensitive", no_argument, NULL, OPT_NO_SECURITY_SENSITIVE},
        {"protected-object", no_argument, NULL, OPT_PROTECTED_OBJECT},
        {"no-protected-object", no_argument, NULL, OPT_NO_PROTECTED_OBJECT},
        {"decision-ref", required_argument, NULL, OPT_DECISION_REF},
        ARGS_WRITE_OPTIONS,
        ARGS_COMMON_OPTIONS,
        {0},
    };
    protection_change change = PROTECTION_CHANGE_INIT;
    args_parser p;
    int rc;

    if (parse_protection(s, &protect_command, options, 1, argc, argv, &change, &p) ==
        ARGS_STOP) {
        rc = p.exit_code;
    } else {
        change.patch.asset.security = &change.security;
        rc = cmd_update_asset(s, &p, &change.patch,
                              "nothing to change: give --security-class, "
                              "--[no-]security-sensitive, --[no-]protected-object or "
                              "--decision-ref");
    }
    cmd_asset_patch_free(&change.patch);
    return rc;
}

/* ---- valv explain -------------------------------------------------------------- */

int cmd_explain(cmd_session *s, int argc, char **argv)
{
    Valv__V1__GetAssetRequest req = VALV__V1__GET_ASSET_REQUEST__INIT;
    Valv__V1__Asset *asset = NULL;
    char *name = NULL;
    args_parser p;

    if (args_parse_common(&explain_command, &s->globals, argc, argv, 1, 1, "NAME", &p) ==
        ARGS_STOP)
        return p.exit_code;
    int rc = args_asset_operand(&p, 0, &name);
    if (rc != ARGS_EXIT_OK)
        return rc;
    req.name = name;
    rc = cmd_call(s, "/valv.v1.Inventory/GetAsset", &req.base, &valv__v1__asset__descriptor,
                  (ProtobufCMessage **)&asset);
    if (rc == ARGS_EXIT_OK)
        rc = cmd_print_explanation(s, asset);
    if (asset != NULL)
        valv__v1__asset__free_unpacked(asset, NULL);
    free(name);
    return rc;
}
