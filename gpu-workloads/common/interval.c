/* spotlab workloads: time intervals on the command line; see interval.h. */
#include "interval.h"

#include <string.h>

gboolean
workload_parse_interval(const char *text, gint64 *us)
{
    if (text == NULL || *text == '\0')
        return FALSE;
    char *end = NULL;
    double value = g_ascii_strtod(text, &end);
    if (end == text || !(value > 0) || value > 1e9)
        return FALSE;
    double scale;
    if (*end == '\0' || strcmp(end, "s") == 0)
        scale = 1e6;
    else if (strcmp(end, "ms") == 0)
        scale = 1e3;
    else if (strcmp(end, "m") == 0)
        scale = 60e6;
    else if (strcmp(end, "h") == 0)
        scale = 3600e6;
    else
        return FALSE;
    *us = (gint64)(value * scale);
    return *us > 0;
}
