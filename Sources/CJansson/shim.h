#ifndef TOFU_CJANSSON_SHIM_H
#define TOFU_CJANSSON_SHIM_H
#include <jansson.h>

/* jansson's reference counting lives in static inline functions and macros;
   these give Swift one plain function for each. */
static inline void tofu_json_decref(json_t *json) { json_decref(json); }
static inline int tofu_json_typeof(const json_t *json) { return (int)json_typeof(json); }

#endif
