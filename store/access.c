/* access.c - the caller's access policy, applied (store.h, "Access policy").
 *
 * The hooks in store_actor decide; this file is the one place that calls
 * them, so that every write asks in the same order and a hidden asset looks
 * exactly like a missing one.
 */
#include "store.h"

#include "store_internal.h"

bool access_sees_all(const store_actor *viewer)
{
    return viewer == NULL || viewer->can_see == NULL;
}

bool store_asset_visible(const store_actor *viewer, const Valv__V1__Asset *asset)
{
    return access_sees_all(viewer) || viewer->can_see(viewer, asset);
}

int access_check(const store_actor *who, store_act act, const char *unit, valv_error *err)
{
    if (who == NULL || who->authorize == NULL)
        return VALV_OK;
    int rc = who->authorize(who, act, unit, err);
    /* A hook that refuses without saying why still refuses. */
    if (rc != VALV_OK && (int)err->code != rc)
        valv_error_set(err, rc, "not permitted for assets of unit '%s'", unit);
    return rc;
}

int access_hide_unseen(const char *id, const store_actor *viewer, Valv__V1__Asset **out,
                       valv_error *err)
{
    if (store_asset_visible(viewer, *out))
        return VALV_OK;
    valv__v1__asset__free_unpacked(*out, NULL);
    *out = NULL;
    return asset_not_found(id, err);
}

int access_load(const store *s, MDB_txn *txn, const char *id, const store_actor *viewer,
                Valv__V1__Asset **out, valv_error *err)
{
    int rc = asset_load(s, txn, id, out, err);
    return rc == VALV_OK ? access_hide_unseen(id, viewer, out, err) : rc;
}

int access_load_values(const store *s, MDB_txn *txn, const char *id, const store_actor *viewer,
                       Valv__V1__Asset **out, valv_error *err)
{
    int rc = asset_load_values(s, txn, id, out, err);
    return rc == VALV_OK ? access_hide_unseen(id, viewer, out, err) : rc;
}

int access_id_visible(const store *s, MDB_txn *txn, const char *id, const store_actor *viewer,
                      bool *visible, valv_error *err)
{
    Valv__V1__Asset *a = NULL;

    *visible = true;
    if (access_sees_all(viewer))
        return VALV_OK;
    int rc = asset_load_values(s, txn, id, &a, err);
    if (rc == VALV_ENOTFOUND) {
        /* Nothing names a missing asset in a sound store; a damaged one
         * must not reveal what it lost. */
        valv_error_clear(err);
        *visible = false;
        return VALV_OK;
    }
    if (rc != VALV_OK)
        return rc;
    *visible = store_asset_visible(viewer, a);
    valv__v1__asset__free_unpacked(a, NULL);
    return VALV_OK;
}

int access_load_for(store_txn *t, const char *id, const store_actor *who, store_act act,
                    Valv__V1__Asset **out, valv_error *err)
{
    int rc = access_load(t->s, t->txn, id, who, out, err);
    if (rc == VALV_OK)
        rc = access_check(who, act, (*out)->owner_unit, err);
    if (rc != VALV_OK && *out != NULL) {
        valv__v1__asset__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return rc;
}
