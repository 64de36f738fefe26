/* spotlab trace: inspect and convert trace files. */
#include "commands.h"
#include "import.h"
#include "scenario.h"
#include "synth.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Options shared by `trace info` and `trace convert`: how to read the files. */
typedef struct {
    char *format;
    char *convention;
    char *time_unit;
    char *gap;
    char *key;
} ReadOptions;

static void
__read_options_clear(ReadOptions *o)
{
    g_free(o->format);
    g_free(o->convention);
    g_free(o->time_unit);
    g_free(o->gap);
    g_free(o->key);
}

/* A table reads better aligned by hand. */
/* clang-format off */
#define READ_OPTION_ENTRIES(o)                                                                 \
    {"format", 'f', 0, G_OPTION_ARG_STRING, &(o).format,                                       \
     "The file format (default: detected; see 'spotlab trace formats')", "FORMAT"},            \
    {"convention", 'c', 0, G_OPTION_ARG_STRING, &(o).convention,                               \
     "What 1 means in tick arrays and probe logs: availability or preempted", "CONV"},         \
    {"time-unit", 0, 0, G_OPTION_ARG_STRING, &(o).time_unit,                                   \
     "Unit of the times in step-csv files: s or h", "UNIT"},                                   \
    {"gap", 0, 0, G_OPTION_ARG_STRING, &(o).gap,                                               \
     "Tick length of price-json files, like 195s", "DURATION"},                                \
    {"key", 'k', 0, G_OPTION_ARG_STRING, &(o).key,                                             \
     "Read only the pool of this name (or price-json key)", "NAME"}
/* clang-format on */

static gboolean
__import_options(const ReadOptions *o, TraceImportOptions *opts, const char *cmd)
{
    memset(opts, 0, sizeof *opts);
    opts->format = o->format;
    opts->key = o->key;
    if (o->format != NULL && strcmp(o->format, "auto") != 0 &&
        trace_format_description(o->format) == NULL) {
        fprintf(stderr, "spotlab %s: --format: unknown format '%s'; see 'spotlab trace formats'\n",
                cmd, o->format);
        return FALSE;
    }
    if (o->convention != NULL && !trace_convention_from_string(o->convention, &opts->convention)) {
        fprintf(stderr, "spotlab %s: --convention: expected availability or preempted, got '%s'\n",
                cmd, o->convention);
        return FALSE;
    }
    if (o->time_unit != NULL) {
        if (strcmp(o->time_unit, "s") == 0)
            opts->time_unit = 1;
        else if (strcmp(o->time_unit, "h") == 0)
            opts->time_unit = 3600;
        else {
            fprintf(stderr, "spotlab %s: --time-unit: expected s or h, got '%s'\n", cmd,
                    o->time_unit);
            return FALSE;
        }
    }
    if (o->gap != NULL) {
        double s;
        if (!scenario_parse_duration(o->gap, &s) || s <= 0 || !trace_seconds_to_us(s, &opts->gap)) {
            fprintf(stderr, "spotlab %s: --gap: expected a duration like 195s or 10m, got '%s'\n",
                    cmd, o->gap);
            return FALSE;
        }
    }
    return TRUE;
}

/* Formats @v into the array @buf, or "-" when it is NaN (unknown). */
#define FMT(buf, fmt, v)                                                                           \
    (isnan(v) ? (void)g_strlcpy(buf, "-", sizeof buf) : (void)g_snprintf(buf, sizeof buf, fmt, v))

static json_t *
__num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int
__trace_info(int argc, char **argv)
{
    ReadOptions ro = {0};
    int threshold = 1;
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        READ_OPTION_ENTRIES(ro),
        {"threshold", 't', 0, G_OPTION_ARG_INT, &threshold,
         "Instances needed at once: a pool counts as available when its capacity is at least "
         "this (default 1)",
         "K"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON instead of a table", NULL},
        {NULL},
    };
    int status = SPOTLAB_EXIT_USAGE;
    TraceImportOptions opts;
    g_autoptr(GPtrArray) rows = NULL;
    if (!cmd_parse_options("trace info", "FILE...",
                           "Print per pool: span, tick gap, availability, interruptions and the "
                           "mean time between them, spot price range, on-demand price.",
                           entries, &argc, &argv) ||
        !__import_options(&ro, &opts, "trace info"))
        goto out;
    if (argc < 2) {
        fprintf(stderr, "spotlab trace info: expected at least one FILE\n");
        goto out;
    }
    if (threshold < 1) {
        fprintf(stderr, "spotlab trace info: --threshold: expected a number >= 1, got %d\n",
                threshold);
        goto out;
    }
    json_t *doc = json_array();
    rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    int name_width = 4;
    status = SPOTLAB_EXIT_OK;
    for (int i = 1; i < argc && status == SPOTLAB_EXIT_OK; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(TraceSet) set = trace_import(argv[i], &opts, &error);
        if (set == NULL) {
            fprintf(stderr, "spotlab: %s\n", error->message);
            status = SPOTLAB_EXIT_USAGE;
            break;
        }
        for (guint k = 0; k < trace_set_len(set); k++) {
            const TracePool *p = trace_set_pool(set, k);
            TracePoolStats st;
            trace_pool_stats(p, (guint)threshold, &st);
            char span[16], gap[16], avail[16], mtbi[16], pmin[16], pmean[16], pmax[16], od[16],
                interr[16], lost[16];
            FMT(span, "%.2f", st.span_hours);
            FMT(gap, "%g", st.gap_seconds > 0 ? st.gap_seconds : (double)NAN);
            FMT(avail, "%.1f%%", 100 * st.availability);
            FMT(mtbi, "%.2f", st.mtbi_hours);
            FMT(pmin, "%.4g", st.price_min);
            FMT(pmean, "%.4g", st.price_mean);
            FMT(pmax, "%.4g", st.price_max);
            FMT(od, "%.4g", st.on_demand_price);
            FMT(interr, "%.0f", p->has_capacity ? (double)st.interruptions : (double)NAN);
            FMT(lost, "%.0f", p->has_capacity ? st.instances_lost : (double)NAN);
            char **row = g_new0(char *, 9);
            row[0] = g_strdup(p->name);
            row[1] =
                g_strdup_printf("%-7s %9s %7s %7s %6s %7s %9s", trace_cloud_to_string(p->cloud),
                                span, gap, avail, interr, lost, mtbi);
            row[2] = p->has_price ? g_strdup_printf("%s/%s/%s", pmin, pmean, pmax) : g_strdup("-");
            row[3] = g_strdup(od);
            g_ptr_array_add(rows, row);
            name_width = MAX(name_width, (int)g_utf8_strlen(p->name, -1));
            json_array_append_new(
                doc, json_pack(
                         "{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:o, s:o, s:i, s:o, s:o, s:o, "
                         "s:o, s:o, s:o, s:o, s:o, s:I}",
                         "file", argv[i], "pool", p->name, "cloud", trace_cloud_to_string(p->cloud),
                         "region", p->region, "zone", p->zone, "instance_type", p->instance_type,
                         "span_hours", __num(st.span_hours), "gap_seconds",
                         st.gap_seconds > 0 ? json_real(st.gap_seconds) : json_null(), "threshold",
                         threshold, "availability", __num(st.availability), "interruptions",
                         p->has_capacity ? json_integer(st.interruptions) : json_null(),
                         "instances_lost",
                         p->has_capacity ? json_real(st.instances_lost) : json_null(), "mtbi_hours",
                         __num(st.mtbi_hours), "price_min", __num(st.price_min), "price_mean",
                         __num(st.price_mean), "price_max", __num(st.price_max), "on_demand_price",
                         __num(st.on_demand_price), "change_points", (json_int_t)st.change_points));
        }
    }
    GString *table = g_string_new(NULL);
    g_string_append_printf(table, "%-*s %-7s %9s %7s %7s %6s %7s %9s %24s %10s\n", name_width,
                           "pool", "cloud", "span (h)", "gap (s)", "avail", "interr", "lost",
                           "MTBI (h)", "spot $/h min/mean/max", "on-demand");
    for (guint r = 0; r < rows->len; r++) {
        char **row = rows->pdata[r];
        g_string_append_printf(table, "%-*s %s %24s %10s\n", name_width, row[0], row[1], row[2],
                               row[3]);
    }
    if (status == SPOTLAB_EXIT_OK) {
        if (as_json) {
            g_autofree char *text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
            puts(text);
        } else {
            fputs(table->str, stdout);
            printf("avail: time with capacity >= %d; interr: drops below it; lost: instances "
                   "reclaimed (capacity drops); MTBI: available hours per interruption\n",
                   threshold);
        }
    }
    json_decref(doc);
    g_string_free(table, TRUE);
out:
    __read_options_clear(&ro);
    return status;
}

static int
__trace_convert(int argc, char **argv)
{
    ReadOptions ro = {0};
    g_autofree char *output = NULL, *prices = NULL, *prices_key = NULL, *od = NULL, *cloud = NULL;
    GOptionEntry entries[] = {
        READ_OPTION_ENTRIES(ro),
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         "Write the canonical trace to FILE (required; written atomically)", "FILE"},
        {"prices", 0, 0, G_OPTION_ARG_FILENAME, &prices,
         "Take spot prices from FILE (price-json, gcp-price, aws-price-history...)", "FILE"},
        {"prices-key", 0, 0, G_OPTION_ARG_STRING, &prices_key,
         "The series of the price file to use", "KEY"},
        {"on-demand-price", 0, 0, G_OPTION_ARG_STRING, &od,
         "On-demand price to record, like '$3.06/h'", "PRICE"},
        {"cloud", 0, 0, G_OPTION_ARG_STRING, &cloud, "Cloud to record: aws, gcp or azure", "CLOUD"},
        {NULL},
    };
    int status = SPOTLAB_EXIT_USAGE;
    TraceImportOptions opts;
    double od_price = NAN;
    TraceCloud cloud_value = TRACE_CLOUD_UNKNOWN;
    g_autoptr(GError) error = NULL;
    g_autoptr(TraceSet) set = NULL;
    if (!cmd_parse_options("trace convert", "FILE -o OUTPUT",
                           "Convert a trace in any supported format to spotlab's canonical "
                           "format (docs/traces.md).",
                           entries, &argc, &argv) ||
        !__import_options(&ro, &opts, "trace convert"))
        goto out;
    if (argc != 2 || output == NULL) {
        fprintf(stderr, "spotlab trace convert: expected one FILE and -o OUTPUT\n");
        goto out;
    }
    if (od != NULL && !scenario_parse_price(od, &od_price)) {
        fprintf(stderr,
                "spotlab trace convert: --on-demand-price: expected a price like '$3.06/h', "
                "got '%s'\n",
                od);
        goto out;
    }
    if (cloud != NULL && !trace_cloud_from_string(cloud, &cloud_value)) {
        fprintf(stderr, "spotlab trace convert: --cloud: expected aws, gcp or azure, got '%s'\n",
                cloud);
        goto out;
    }
    set = trace_import(argv[1], &opts, &error);
    if (set == NULL) {
        fprintf(stderr, "spotlab: %s\n", error->message);
        goto out;
    }
    if (prices != NULL) {
        TraceImportOptions popts = {.key = prices_key, .gap = trace_set_pool(set, 0)->gap};
        g_autoptr(TraceSet) pset = trace_import(prices, &popts, &error);
        if (pset == NULL) {
            fprintf(stderr, "spotlab: %s\n", error->message);
            goto out;
        }
        if (trace_set_len(pset) != 1) {
            fprintf(stderr,
                    "spotlab trace convert: %s holds %u price series; pick one with "
                    "--prices-key\n",
                    prices, trace_set_len(pset));
            goto out;
        }
        for (guint k = 0; k < trace_set_len(set); k++) {
            if (!trace_pool_apply_prices(trace_set_pool(set, k), trace_set_pool(pset, 0), &error)) {
                fprintf(stderr, "spotlab: %s\n", error->message);
                goto out;
            }
        }
    }
    for (guint k = 0; k < trace_set_len(set); k++) {
        TracePool *p = trace_set_pool(set, k);
        if (!isnan(od_price))
            p->on_demand_price = od_price;
        if (cloud != NULL)
            p->cloud = cloud_value;
    }
    if (!trace_set_write(set, output, &error)) {
        fprintf(stderr, "spotlab: %s\n", error->message);
        goto out;
    }
    status = SPOTLAB_EXIT_OK;
out:
    __read_options_clear(&ro);
    return status;
}

/* Splits a comma list into @n values (one value repeats for every pool). */
static gboolean
__per_pool(const char *option, const char *list, guint n, gboolean duration, double *out)
{
    g_auto(GStrv) parts = g_strsplit(list, ",", -1);
    guint len = g_strv_length(parts);
    if (len != 1 && len != n) {
        fprintf(stderr,
                "spotlab trace synth: --%s: expected one value or one per pool (%u), got %u\n",
                option, n, len);
        return FALSE;
    }
    for (guint i = 0; i < n; i++) {
        const char *s = parts[len == 1 ? 0 : i];
        char *end = NULL;
        gboolean ok = duration ? scenario_parse_duration(s, &out[i])
                               : ((out[i] = g_ascii_strtod(s, &end)), end != s && *end == '\0');
        if (!ok) {
            fprintf(stderr, "spotlab trace synth: --%s: expected %s, got '%s'\n", option,
                    duration ? "a duration like 45m" : "a number", s);
            return FALSE;
        }
    }
    return TRUE;
}

static int
__trace_synth(int argc, char **argv)
{
    TraceSynthParams base;
    trace_synth_defaults(&base);
    g_autofree char *output = NULL, *name = NULL, *cloud = NULL, *region = NULL, *zone = NULL,
                    *itype = NULL, *gap = NULL, *rate = NULL, *outage = NULL, *od = NULL,
                    *start = NULL;
    int pools = 1;
    gint64 seed = 1;
    double hours = base.hours, weekend = base.weekend_factor, discount = base.discount,
           dip = base.offpeak_dip;
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         "Write the trace to FILE in the canonical format (required)", "FILE"},
        {"pools", 'n', 0, G_OPTION_ARG_INT, &pools, "Number of pools (default 1)", "N"},
        {"name", 0, 0, G_OPTION_ARG_STRING, &name,
         "Pool names, one per pool (a,b,c), or one prefix numbered NAME-1, NAME-2, ...",
         "NAME[,NAME...]"},
        {"cloud", 0, 0, G_OPTION_ARG_STRING, &cloud, "aws, gcp or azure (default aws)", "CLOUD"},
        {"region", 0, 0, G_OPTION_ARG_STRING, &region, "Region to record", "REGION"},
        {"zone", 0, 0, G_OPTION_ARG_STRING, &zone, "Zone to record", "ZONE"},
        {"instance-type", 0, 0, G_OPTION_ARG_STRING, &itype, "Instance type (default h100)",
         "TYPE"},
        {"hours", 0, 0, G_OPTION_ARG_DOUBLE, &hours, "Length in hours (default 168)", "H"},
        {"gap", 0, 0, G_OPTION_ARG_STRING, &gap, "Tick length (default 10m)", "DURATION"},
        {"rate", 0, 0, G_OPTION_ARG_STRING, &rate,
         "Interruptions per available hour on weekdays, one value or one per pool (default "
         "0.041, the published H100 rate)",
         "R[,R...]"},
        {"outage", 0, 0, G_OPTION_ARG_STRING, &outage,
         "Mean outage length, one value or one per pool (default 1h)", "D[,D...]"},
        {"weekend-factor", 0, 0, G_OPTION_ARG_DOUBLE, &weekend,
         "Rate multiplier on weekends (default 0.6: 40% fewer)", "F"},
        {"on-demand-price", 0, 0, G_OPTION_ARG_STRING, &od, "On-demand price (default $3.90/h)",
         "PRICE"},
        {"discount", 0, 0, G_OPTION_ARG_DOUBLE, &discount,
         "Spot discount against on demand (default 0.70)", "F"},
        {"offpeak-dip", 0, 0, G_OPTION_ARG_DOUBLE, &dip,
         "Further discount at night and on weekends (default 0.12)", "F"},
        {"start", 0, 0, G_OPTION_ARG_STRING, &start,
         "UTC time of the first tick (default 2025-01-06T00:00:00Z, a Monday)", "ISO"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N"},
        {NULL},
    };
    if (!cmd_parse_options("trace synth", "",
                           "Make a synthetic trace from interruption and price statistics.",
                           entries, &argc, &argv))
        return SPOTLAB_EXIT_USAGE;
    if (argc != 1 || output == NULL) {
        fprintf(stderr, "spotlab trace synth: expected -o OUTPUT and no other arguments\n");
        return SPOTLAB_EXIT_USAGE;
    }
    if (pools < 1 || pools > 10000) {
        fprintf(stderr, "spotlab trace synth: --pools: expected a number from 1 to 10000, got %d\n",
                pools);
        return SPOTLAB_EXIT_USAGE;
    }
    if (seed < 0) {
        fprintf(stderr,
                "spotlab trace synth: --seed: expected a number >= 0, got %" G_GINT64_FORMAT "\n",
                seed);
        return SPOTLAB_EXIT_USAGE;
    }
    g_autofree double *rates = g_new(double, pools);
    g_autofree double *outages = g_new(double, pools);
    if (!__per_pool("rate", rate ? rate : "0.041", (guint)pools, FALSE, rates) ||
        !__per_pool("outage", outage ? outage : "1h", (guint)pools, TRUE, outages))
        return SPOTLAB_EXIT_USAGE;
    if (cloud != NULL && !trace_cloud_from_string(cloud, &base.cloud)) {
        fprintf(stderr, "spotlab trace synth: --cloud: expected aws, gcp or azure, got '%s'\n",
                cloud);
        return SPOTLAB_EXIT_USAGE;
    }
    if (od != NULL && !scenario_parse_price(od, &base.on_demand_price)) {
        fprintf(stderr,
                "spotlab trace synth: --on-demand-price: expected a price like '$3.06/h', "
                "got '%s'\n",
                od);
        return SPOTLAB_EXIT_USAGE;
    }
    if (gap != NULL && !scenario_parse_duration(gap, &base.gap_seconds)) {
        fprintf(stderr, "spotlab trace synth: --gap: expected a duration like 10m, got '%s'\n",
                gap);
        return SPOTLAB_EXIT_USAGE;
    }
    base.hours = hours;
    base.weekend_factor = weekend;
    base.discount = discount;
    base.offpeak_dip = dip;
    base.seed = (guint64)seed;
    base.region = region;
    base.zone = zone;
    if (itype != NULL)
        base.instance_type = itype;
    if (start != NULL)
        base.start_time = start;
    /* --name takes one name per pool, or a prefix that gets numbered. */
    g_auto(GStrv) names = name && strchr(name, ',') ? g_strsplit(name, ",", -1) : NULL;
    if (names != NULL && g_strv_length(names) != (guint)pools) {
        fprintf(stderr, "spotlab trace synth: --name: expected one name or one per pool (%d)\n",
                pools);
        return SPOTLAB_EXIT_USAGE;
    }
    g_autoptr(TraceSet) set = trace_set_new();
    for (int i = 0; i < pools; i++) {
        TraceSynthParams p = base;
        g_autofree char *pool_name = NULL;
        if (names != NULL && g_strv_length(names) == (guint)pools)
            pool_name = g_strdup(names[i]);
        else if (pools == 1)
            pool_name = g_strdup(name ? name : base.name);
        else
            pool_name = g_strdup_printf("%s-%d", name ? name : base.name, i + 1);
        p.name = pool_name;
        p.stream = (guint64)i;
        p.rate_per_hour = rates[i];
        p.outage_seconds = outages[i];
        g_autoptr(GError) error = NULL;
        TracePool *pool = trace_synth_pool(&p, &error);
        if (pool == NULL) {
            fprintf(stderr, "spotlab trace %s\n", error->message);
            return SPOTLAB_EXIT_USAGE;
        }
        trace_set_add(set, pool);
    }
    g_autoptr(GError) error = NULL;
    if (!trace_set_write(set, output, &error)) {
        fprintf(stderr, "spotlab: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    return SPOTLAB_EXIT_OK;
}

static int
__trace_formats(void)
{
    const char *const *names = trace_format_names();
    for (gsize i = 0; names[i] != NULL; i++)
        printf("  %-18s %s\n", names[i], trace_format_description(names[i]));
    return SPOTLAB_EXIT_OK;
}

int
cmd_trace(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "info") == 0)
        return __trace_info(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "convert") == 0)
        return __trace_convert(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "synth") == 0)
        return __trace_synth(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "formats") == 0)
        return __trace_formats();
    gboolean help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    fprintf(help ? stdout : stderr,
            "Usage: spotlab trace info FILE...         per-pool statistics\n"
            "       spotlab trace convert FILE -o OUT  convert to the canonical format\n"
            "       spotlab trace synth -o OUT         make a synthetic trace\n"
            "       spotlab trace formats              list the formats spotlab reads\n"
            "Run 'spotlab trace SUBCOMMAND --help' for its options.\n");
    return help ? SPOTLAB_EXIT_OK : SPOTLAB_EXIT_USAGE;
}
