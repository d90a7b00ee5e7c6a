/*
 * Small helpers for the JSON reports (replay, timing, fault injection):
 * one call per "name": value member of the object a JsonBuilder is in,
 * so that a report's field list reads as a list.  Header-only; the
 * includer links json-glib.  Member order is the call order, which keeps
 * reports byte-identical from run to run.
 */
#ifndef VTDSIM_CORE_JSON_OUT_H
#define VTDSIM_CORE_JSON_OUT_H

#include <json-glib/json-glib.h>

/** Adds "@name": @v to the object @b is building. */
static inline void json_member_int(JsonBuilder *b, const char *name, gint64 v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, v);
}

/** Adds "@name": @v to the object @b is building. */
static inline void json_member_double(JsonBuilder *b, const char *name, gdouble v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_double_value(b, v);
}

/** Adds "@name": "@v" (copied) to the object @b is building. */
static inline void json_member_string(JsonBuilder *b, const char *name, const char *v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, v);
}

#endif
