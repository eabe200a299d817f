#include "policy.h"

#include "authz.h"

static authz_right right_of(store_act act)
{
    switch (act) {
    case STORE_ACT_CREATE: return AUTHZ_CREATE;
    case STORE_ACT_UPDATE: return AUTHZ_UPDATE;
    case STORE_ACT_CLASSIFY: return AUTHZ_CLASSIFY;
    case STORE_ACT_DELETE: return AUTHZ_DELETE;
    case STORE_ACT_LINK: return AUTHZ_LINK;
    case STORE_ACT_REVIEW: return AUTHZ_REVIEW;
    }
    return AUTHZ_ADMIN; /* unreachable: an unknown act needs the right nobody has by default */
}

static int authorize(const store_actor *who, store_act act, const char *unit, valv_error *err)
{
    return authz_check(who->policy, right_of(act), unit, err);
}

static bool asset_visible_to(const principal *p, const Valv__V1__Asset *asset)
{
    Valv__V1__SecurityClass effective =
        asset->effective != NULL ? asset->effective->security_class
                                 : VALV__V1__SECURITY_CLASS__SECURITY_CLASS_UNSPECIFIED;
    return authz_can_see(p, effective, asset->owner_unit);
}

static bool can_see(const store_actor *who, const Valv__V1__Asset *asset)
{
    return asset_visible_to(who->policy, asset);
}

void policy_actor(call *c, const char *request_id, store_actor *who)
{
    *who = (store_actor){
        .actor = call_actor(c),
        .request_id = request_id,
        .authorize = authorize,
        .can_see = can_see,
        .policy = call_principal(c),
    };
}

void policy_importer(call *c, const char *request_id, store_actor *who)
{
    *who = (store_actor){.actor = call_actor(c), .request_id = request_id};
}

bool policy_visible(call *c, const Valv__V1__Asset *asset)
{
    return asset_visible_to(call_principal(c), asset);
}
