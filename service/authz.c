/* authz.c - the rights table and the need-to-know rule. */
#include "authz.h"

#include <stdio.h>

#include "validate.h"

typedef enum {
    SCOPE_EVERYWHERE,
    SCOPE_OWN_UNITS,   /* principal.units, role owner */
    SCOPE_OWN_SOURCES  /* principal.sources, role importer */
} right_scope;

typedef struct {
    const char *name;   /* for logs: "classify" */
    const char *action; /* for messages: "principal 'x' may not ACTION" */
    right_scope scope;
    unsigned roles;     /* principal_role bits that grant the right */
} right_rule;

/* The one place that says who may do what; authz.h shows it as a table. */
static const right_rule rules[AUTHZ_RIGHT_COUNT] = {
    [AUTHZ_READ] = {"read", "read assets", SCOPE_EVERYWHERE,
                    ROLE_READER | ROLE_OWNER | ROLE_SECURITY_CHIEF | ROLE_AUDITOR},
    [AUTHZ_CREATE] = {"create", "create assets", SCOPE_OWN_UNITS, ROLE_OWNER},
    [AUTHZ_UPDATE] = {"update", "update assets", SCOPE_OWN_UNITS, ROLE_OWNER},
    [AUTHZ_CLASSIFY] = {"classify", "classify assets", SCOPE_OWN_UNITS, ROLE_OWNER},
    [AUTHZ_LINK] = {"link", "link from assets", SCOPE_OWN_UNITS, ROLE_OWNER},
    [AUTHZ_DELETE] = {"delete", "delete or undelete assets", SCOPE_OWN_UNITS, ROLE_OWNER},
    [AUTHZ_REVIEW] = {"review", "review assets", SCOPE_EVERYWHERE, ROLE_SECURITY_CHIEF},
    [AUTHZ_IMPORT] = {"import", "import", SCOPE_OWN_SOURCES, ROLE_IMPORTER},
    [AUTHZ_AUDIT_READ] = {"audit_read", "read or verify the audit log", SCOPE_EVERYWHERE,
                          ROLE_AUDITOR},
    [AUTHZ_ADMIN] = {"admin", "use the admin methods", SCOPE_EVERYWHERE, ROLE_ADMIN},
};

/* Roles whose work is to see everything. */
static const unsigned clearing_roles = ROLE_SECURITY_CHIEF | ROLE_AUDITOR;

static const principal dev_principal = {
    .id = "dev",
    .roles = ROLE_READER | ROLE_OWNER | ROLE_SECURITY_CHIEF | ROLE_IMPORTER | ROLE_AUDITOR |
             ROLE_ADMIN,
    .cleared = true,
    .unscoped = true,
};

static bool holds(const principal *p, const right_rule *rule, const char *scope)
{
    if ((p->roles & rule->roles) == 0)
        return false;
    if (scope == NULL)
        return true; /* for some unit or source: the role is enough */
    switch (rule->scope) {
    case SCOPE_OWN_UNITS:
        return principal_owns_unit(p, scope);
    case SCOPE_OWN_SOURCES:
        return principal_imports_source(p, scope);
    case SCOPE_EVERYWHERE:
        break;
    }
    return true;
}

/* Writes "reader, owner or auditor" for the role bits into buf. */
static const char *role_list(unsigned roles, char *buf, size_t cap)
{
    size_t used = 0;
    unsigned left = roles;
    buf[0] = '\0';
    for (unsigned bit = 1; left != 0 && used < cap; bit <<= 1) {
        if ((left & bit) == 0)
            continue;
        left &= ~bit;
        const char *sep = used == 0 ? "" : left == 0 ? " or " : ", ";
        int n = snprintf(buf + used, cap - used, "%s%s", sep, principal_role_name(bit));
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

int authz_check(const principal *p, authz_right right, const char *scope, valv_error *err)
{
    if ((unsigned)right >= AUTHZ_RIGHT_COUNT)
        return valv_error_set(err, VALV_EINTERNAL, "authorisation: unknown right %d", (int)right);
    const right_rule *rule = &rules[right];
    if (holds(p, rule, scope))
        return VALV_OK;

    char roles[128];
    role_list(rule->roles, roles, sizeof roles);
    if (rule->scope == SCOPE_EVERYWHERE || scope == NULL)
        return valv_error_set(err, VALV_EPERM, "principal '%s' may not %s: needs role %s", p->id,
                              rule->action, roles);
    bool by_unit = rule->scope == SCOPE_OWN_UNITS;
    char excerpt[VALIDATE_EXCERPT_SIZE]; /* a source may come unchecked from a request */
    return valv_error_set(err, VALV_EPERM,
                          "principal '%s' may not %s %s '%s': needs role %s for that %s", p->id,
                          rule->action, by_unit ? "of unit" : "for source",
                          validate_excerpt(scope, excerpt), roles, by_unit ? "unit" : "source");
}

bool authz_is_cleared(const principal *p)
{
    return p->cleared || (p->roles & clearing_roles) != 0;
}

bool authz_can_see(const principal *p, Valv__V1__SecurityClass effective_security_class,
                   const char *owner_unit)
{
    if (effective_security_class < VALV__V1__SECURITY_CLASS__RESTRICTED)
        return true;
    return authz_is_cleared(p) || principal_owns_unit(p, owner_unit);
}

const char *authz_right_name(authz_right right)
{
    if ((unsigned)right >= AUTHZ_RIGHT_COUNT)
        return "unknown";
    return rules[right].name;
}

const principal *authz_dev_principal(void)
{
    return &dev_principal;
}
