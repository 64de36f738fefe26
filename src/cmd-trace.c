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

/* The per-pool settings of `trace synth`. Each is an option that takes one value for every
 * pool or a comma list of one value per pool, and a key of --pool, which sets it for the pools
 * of that one specification. */
typedef enum {
    SYNTH_GPU,
    SYNTH_REGION,
    SYNTH_ZONE,
    SYNTH_CLOUD,
    SYNTH_INSTANCE_TYPE,
    SYNTH_RATE,
    SYNTH_REGION_FACTOR,
    SYNTH_WEEKEND_FACTOR,
    SYNTH_OUTAGE,
    SYNTH_ON_DEMAND_PRICE,
    SYNTH_DISCOUNT,
    SYNTH_PRICE_FACTOR,
    SYNTH_OFFPEAK_DIP,
    SYNTH_N_FIELDS
} SynthField;

typedef enum {
    SYNTH_TEXT,
    SYNTH_NUMBER,
    SYNTH_DURATION,
    SYNTH_PRICE,
} SynthKind;

static const struct {
    const char *key;
    SynthKind kind;
} synth_fields[SYNTH_N_FIELDS] = {
    [SYNTH_GPU] = {"gpu", SYNTH_TEXT},
    [SYNTH_REGION] = {"region", SYNTH_TEXT},
    [SYNTH_ZONE] = {"zone", SYNTH_TEXT},
    [SYNTH_CLOUD] = {"cloud", SYNTH_TEXT},
    [SYNTH_INSTANCE_TYPE] = {"instance-type", SYNTH_TEXT},
    [SYNTH_RATE] = {"rate", SYNTH_NUMBER},
    [SYNTH_REGION_FACTOR] = {"region-factor", SYNTH_NUMBER},
    [SYNTH_WEEKEND_FACTOR] = {"weekend-factor", SYNTH_NUMBER},
    [SYNTH_OUTAGE] = {"outage", SYNTH_DURATION},
    [SYNTH_ON_DEMAND_PRICE] = {"on-demand-price", SYNTH_PRICE},
    [SYNTH_DISCOUNT] = {"discount", SYNTH_NUMBER},
    [SYNTH_PRICE_FACTOR] = {"price-factor", SYNTH_NUMBER},
    [SYNTH_OFFPEAK_DIP] = {"offpeak-dip", SYNTH_NUMBER},
};

/* What one pool was given explicitly; unset fields come from the presets. */
typedef struct {
    const char *spec; /* its --pool text, or NULL */
    const char *name; /* from --pool name=, else NULL */
    gboolean set[SYNTH_N_FIELDS];
    gboolean from_spec[SYNTH_N_FIELDS]; /* set by --pool rather than by the option */
    const char *text[SYNTH_N_FIELDS];   /* borrowed from the split option strings */
    double number[SYNTH_N_FIELDS];
} SynthPoolSpec;

/* "one of a100, h100, v100" */
static char *
__synth_gpu_names(void)
{
    gsize n;
    const TraceSynthGpu *gpus = trace_synth_gpus(&n);
    GString *s = g_string_new("one of ");
    for (gsize i = 0; i < n; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", gpus[i].name);
    return g_string_free(s, FALSE);
}

/* Prints @message about @field for the option or --pool @spec (NULL: the option) that gave it:
 * "--rate: expected...", "--pool 'name=a,rate=x': rate: expected...". */
static void
__synth_complain(const char *spec, const char *key, const char *message, const char *pool)
{
    if (spec != NULL)
        fprintf(stderr, "spotlab trace synth: --pool '%s': %s: %s%s\n", spec, key, message, pool);
    else
        fprintf(stderr, "spotlab trace synth: --%s: %s%s\n", key, message, pool);
}

/* Parses @value for @field into @spec; @from is the --pool text that gave it, NULL for the
 * option. */
static gboolean
__synth_value(SynthPoolSpec *spec, SynthField field, const char *value, const char *from)
{
    const char *key = synth_fields[field].key;
    const char *expected = NULL;
    double v = 0;
    char *end = NULL;
    switch (synth_fields[field].kind) {
    case SYNTH_TEXT:
        if (*value == '\0')
            expected = "a name";
        break;
    case SYNTH_NUMBER:
        v = g_ascii_strtod(value, &end);
        if (end == value || *end != '\0' || !isfinite(v))
            expected = "a number";
        break;
    case SYNTH_DURATION:
        if (!scenario_parse_duration(value, &v))
            expected = "a duration like 45m";
        break;
    case SYNTH_PRICE:
        if (!scenario_parse_price(value, &v))
            expected = "a price like '$3.06/h'";
        break;
    }
    TraceCloud cloud;
    if (expected == NULL && field == SYNTH_CLOUD && !trace_cloud_from_string(value, &cloud))
        expected = "aws, gcp or azure";
    g_autofree char *names = NULL;
    if (expected == NULL && field == SYNTH_GPU && trace_synth_gpu_lookup(value) == NULL)
        expected = names = __synth_gpu_names();
    if (expected != NULL) {
        g_autofree char *message = g_strdup_printf("expected %s, got '%s'", expected, value);
        __synth_complain(from, key, message, "");
        return FALSE;
    }
    spec->set[field] = TRUE;
    spec->from_spec[field] = from != NULL;
    spec->text[field] = value;
    spec->number[field] = v;
    return TRUE;
}

/* Parses one --pool KEY=VALUE,... into @spec and its pool count into @count. The strings stay
 * in @keep. */
static gboolean
__synth_pool_spec(const char *text, SynthPoolSpec *spec, int *count, GPtrArray *keep)
{
    g_autofree char *where = g_strdup_printf("--pool '%s'", text);
    spec->spec = text;
    char **items = g_strsplit(text, ",", -1);
    g_ptr_array_add(keep, items);
    *count = 1;
    gboolean have_count = FALSE;
    for (int i = 0; items[i] != NULL; i++) {
        char *eq = strchr(items[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "spotlab trace synth: %s: expected KEY=VALUE items, got '%s'\n", where,
                    items[i]);
            return FALSE;
        }
        *eq = '\0';
        const char *key = items[i], *value = eq + 1;
        if (strcmp(key, "name") == 0 || strcmp(key, "count") == 0) {
            gboolean is_name = key[0] == 'n';
            if (is_name ? spec->name != NULL : have_count) {
                fprintf(stderr, "spotlab trace synth: %s: %s given twice\n", where, key);
                return FALSE;
            }
            if (is_name) {
                if (*value == '\0') {
                    fprintf(stderr, "spotlab trace synth: %s: name: expected a name\n", where);
                    return FALSE;
                }
                spec->name = value;
                continue;
            }
            char *end = NULL;
            gint64 c = g_ascii_strtoll(value, &end, 10);
            if (end == value || *end != '\0' || c < 1 || c > 10000) {
                fprintf(stderr,
                        "spotlab trace synth: %s: count: expected a number of pools from 1 to "
                        "10000, got '%s'\n",
                        where, value);
                return FALSE;
            }
            *count = (int)c;
            have_count = TRUE;
            continue;
        }
        int field = -1;
        for (int f = 0; f < SYNTH_N_FIELDS; f++)
            if (strcmp(key, synth_fields[f].key) == 0)
                field = f;
        if (field < 0) {
            GString *keys = g_string_new("name, count");
            for (int f = 0; f < SYNTH_N_FIELDS; f++)
                g_string_append_printf(keys, ", %s", synth_fields[f].key);
            fprintf(stderr, "spotlab trace synth: %s: unknown key '%s'; expected one of %s\n",
                    where, key, keys->str);
            g_string_free(keys, TRUE);
            return FALSE;
        }
        if (spec->set[field]) {
            fprintf(stderr, "spotlab trace synth: %s: %s given twice\n", where, key);
            return FALSE;
        }
        if (!__synth_value(spec, (SynthField)field, value, text))
            return FALSE;
    }
    return TRUE;
}

/* Prints the presets that --gpu and --region select. */
static void
__synth_print_presets(void)
{
    gsize n;
    const TraceSynthGpu *gpus = trace_synth_gpus(&n);
    printf("GPU presets (--gpu): interruptions per available weekday hour, on-demand price, spot "
           "discount at peak hours\n");
    for (gsize i = 0; i < n; i++) {
        char price[32];
        g_snprintf(price, sizeof price, "$%g/h", gpus[i].on_demand_price);
        printf("  %-5s %5.1f%%/h  %-10s %2.0f%% off  (%s)\n", gpus[i].name,
               100 * gpus[i].rate_per_hour, price, 100 * gpus[i].discount, gpus[i].source);
    }
    const TraceSynthRegion *regions = trace_synth_regions(&n);
    printf("Region factors (--region): interruption rate against us-west-2, spot price against "
           "us-east-2\n");
    for (gsize i = 0; i < n; i++)
        printf("  %-10s x%-4g x%-4g (%s)\n", regions[i].name, regions[i].rate_factor,
               regions[i].price_factor, regions[i].source);
    printf("  %-10s x%-4g x%-4g (no published figure)\n", "any other", 1.0, 1.0);
}

/* Makes the pools of `trace synth` and writes them to @output; the options are parsed. */
static int
__synth_write(const TraceSynthParams *base, char **pool_specs, int pools, char **option,
              const char *name, const char *output)
{
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    g_autoptr(GError) error = NULL;
    /* The pools: C per --pool with count=C, or --pools of them. */
    guint n_specs = pool_specs ? g_strv_length(pool_specs) : 1;
    g_autofree SynthPoolSpec *given = g_new0(SynthPoolSpec, n_specs);
    g_autofree int *counts = g_new0(int, n_specs);
    if (pool_specs != NULL) {
        for (guint k = 0; k < n_specs; k++) {
            if (!__synth_pool_spec(pool_specs[k], &given[k], &counts[k], keep))
                return SPOTLAB_EXIT_USAGE;
            pools += counts[k];
            if (pools > 10000) {
                fprintf(stderr, "spotlab trace synth: --pool: expected at most 10000 pools in "
                                "all, got more\n");
                return SPOTLAB_EXIT_USAGE;
            }
        }
    } else {
        counts[0] = pools;
    }
    g_autofree SynthPoolSpec *specs = g_new0(SynthPoolSpec, pools);
    g_autofree int *copy = g_new0(int, pools); /* 1.. within its --pool, 0 when alone */
    for (guint k = 0, i = 0; k < n_specs; k++)
        for (int c = 0; c < counts[k]; c++, i++) {
            specs[i] = given[k];
            copy[i] = counts[k] > 1 ? c + 1 : 0;
        }

    /* The options: one value or one per pool, every value checked; a pool's own --pool keys
     * win. */
    for (int f = 0; f < SYNTH_N_FIELDS; f++) {
        if (option[f] == NULL)
            continue;
        char **parts = g_strsplit(option[f], ",", -1);
        g_ptr_array_add(keep, parts);
        guint len = g_strv_length(parts);
        if (len != 1 && len != (guint)pools) {
            fprintf(stderr,
                    "spotlab trace synth: --%s: expected one value or one per pool (%d), got %u\n",
                    synth_fields[f].key, pools, len);
            return SPOTLAB_EXIT_USAGE;
        }
        for (guint j = 0; j < len; j++) {
            SynthPoolSpec value = {0};
            if (!__synth_value(&value, (SynthField)f, parts[j], NULL))
                return SPOTLAB_EXIT_USAGE;
            for (int i = len == 1 ? 0 : (int)j; i < (len == 1 ? pools : (int)j + 1); i++) {
                if (specs[i].set[f])
                    continue;
                specs[i].set[f] = TRUE;
                specs[i].text[f] = value.text[f];
                specs[i].number[f] = value.number[f];
            }
        }
    }

    /* --name takes one name per pool, or a prefix that gets numbered. */
    g_auto(GStrv) names = name && strchr(name, ',') ? g_strsplit(name, ",", -1) : NULL;
    if (names != NULL && g_strv_length(names) != (guint)pools) {
        fprintf(stderr,
                "spotlab trace synth: --name: expected one name or one per pool (%d), got %u\n",
                pools, g_strv_length(names));
        return SPOTLAB_EXIT_USAGE;
    }
    g_autoptr(TraceSet) set = trace_set_new();
    for (int i = 0; i < pools; i++) {
        const SynthPoolSpec *s = &specs[i];
        g_autofree char *pool_name = NULL;
        if (s->name != NULL && copy[i] > 0)
            pool_name = g_strdup_printf("%s-%d", s->name, copy[i]);
        else if (s->name != NULL)
            pool_name = g_strdup(s->name);
        else if (names != NULL)
            pool_name = g_strdup(names[i]);
        else if (pools == 1)
            pool_name = g_strdup(name ? name : base->name);
        else
            pool_name = g_strdup_printf("%s-%d", name ? name : base->name, i + 1);
        if (*pool_name == '\0' || trace_set_find(set, pool_name) != NULL) {
            fprintf(stderr,
                    "spotlab trace synth: pool name '%s': expected a unique, non-empty name "
                    "(--name, --pool name=)\n",
                    pool_name);
            return SPOTLAB_EXIT_USAGE;
        }
        TraceSynthParams p = *base;
        p.name = pool_name;
        p.stream = (guint64)i;
        /* Presets first, then what was given: an explicit rate or discount is the pool's own
         * and drops the region's factor for it, unless a factor was given too. */
        if (s->set[SYNTH_GPU] && !trace_synth_apply_gpu(&p, s->text[SYNTH_GPU], &error)) {
            fprintf(stderr, "spotlab trace %s\n", error->message);
            return SPOTLAB_EXIT_USAGE;
        }
        if (s->set[SYNTH_REGION])
            trace_synth_apply_region(&p, s->text[SYNTH_REGION]);
        if (s->set[SYNTH_ZONE])
            p.zone = s->text[SYNTH_ZONE];
        if (s->set[SYNTH_CLOUD])
            trace_cloud_from_string(s->text[SYNTH_CLOUD], &p.cloud);
        if (s->set[SYNTH_INSTANCE_TYPE])
            p.instance_type = s->text[SYNTH_INSTANCE_TYPE];
        if (s->set[SYNTH_RATE]) {
            p.rate_per_hour = s->number[SYNTH_RATE];
            p.region_factor = 1;
        }
        if (s->set[SYNTH_REGION_FACTOR])
            p.region_factor = s->number[SYNTH_REGION_FACTOR];
        if (s->set[SYNTH_WEEKEND_FACTOR])
            p.weekend_factor = s->number[SYNTH_WEEKEND_FACTOR];
        if (s->set[SYNTH_OUTAGE])
            p.outage_seconds = s->number[SYNTH_OUTAGE];
        if (s->set[SYNTH_ON_DEMAND_PRICE])
            p.on_demand_price = s->number[SYNTH_ON_DEMAND_PRICE];
        if (s->set[SYNTH_DISCOUNT]) {
            p.discount = s->number[SYNTH_DISCOUNT];
            p.price_factor = 1;
        }
        if (s->set[SYNTH_PRICE_FACTOR])
            p.price_factor = s->number[SYNTH_PRICE_FACTOR];
        if (s->set[SYNTH_OFFPEAK_DIP])
            p.offpeak_dip = s->number[SYNTH_OFFPEAK_DIP];
        TracePool *pool = trace_synth_pool(&p, &error);
        if (pool == NULL) {
            /* The library names the parameter after its option ("synth: rate: expected...");
             * name the option or --pool that gave the value, and the pool when there are
             * several. */
            const char *msg = error->message;
            if (g_str_has_prefix(msg, "synth: "))
                msg += strlen("synth: ");
            const char *colon = strchr(msg, ':');
            g_autofree char *key = colon ? g_strndup(msg, (gsize)(colon - msg)) : NULL;
            const char *spec = NULL;
            for (int f = 0; key != NULL && f < SYNTH_N_FIELDS; f++)
                if (strcmp(key, synth_fields[f].key) == 0 && s->from_spec[f])
                    spec = s->spec;
            g_autofree char *which =
                pools > 1 ? g_strdup_printf(" (pool '%s')", pool_name) : g_strdup("");
            if (key != NULL)
                __synth_complain(spec, key, colon + 1 + (colon[1] == ' '), which);
            else
                fprintf(stderr, "spotlab trace synth: %s%s\n", msg, which);
            return SPOTLAB_EXIT_USAGE;
        }
        trace_set_add(set, pool);
    }
    if (!trace_set_write(set, output, &error)) {
        fprintf(stderr, "spotlab: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    return SPOTLAB_EXIT_OK;
}

static int
__trace_synth(int argc, char **argv)
{
    TraceSynthParams base;
    trace_synth_defaults(&base);
    g_autofree char *output = NULL, *name = NULL, *gap = NULL, *start = NULL;
    g_auto(GStrv) pool_specs = NULL;
    char *option[SYNTH_N_FIELDS] = {NULL};
    int pools = G_MININT; /* not given */
    gint64 seed = 1;
    gboolean presets = FALSE;
    double hours = base.hours;
    /* A table reads better aligned by hand. */
    /* clang-format off */
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         "Write the trace to FILE in the canonical format (required)", "FILE"},
        {"pool", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &pool_specs,
         "One pool specification, repeatable: name=N,count=C (C pools named N-1..N-C) and any "
         "of the per-pool keys below (gpu=, region=, rate=...), which override the options "
         "for these pools", "KEY=VALUE[,...]"},
        {"pools", 'n', 0, G_OPTION_ARG_INT, &pools,
         "Number of pools when no --pool is given (default 1)", "N"},
        {"name", 0, 0, G_OPTION_ARG_STRING, &name,
         "Pool names, one per pool (a,b,c), or one prefix numbered NAME-1, NAME-2, ... "
         "(default synthetic)", "NAME[,NAME...]"},
        {"gpu", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_GPU],
         "GPU preset: the published interruption rate, on-demand price and spot discount of "
         "a100, h100 or v100 (default h100; see --presets)", "GPU[,GPU...]"},
        {"region", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_REGION],
         "Region to record; us-east-1 triples the preset rate, us-west-2 prices spot 20% above "
         "us-east-2 (see --presets)", "REGION[,...]"},
        {"region-factor", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_REGION_FACTOR],
         "Multiplier of the interruption rate instead of the region's (also applies to --rate)",
         "F[,F...]"},
        {"price-factor", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_PRICE_FACTOR],
         "Multiplier of the spot price instead of the region's (also applies to --discount)",
         "F[,F...]"},
        {"cloud", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_CLOUD],
         "aws, gcp or azure (default aws)", "CLOUD[,...]"},
        {"zone", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_ZONE], "Zone to record", "ZONE[,...]"},
        {"instance-type", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_INSTANCE_TYPE],
         "Instance type to record (default: the GPU preset's name)", "TYPE[,...]"},
        {"rate", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_RATE],
         "Interruptions per available hour on weekdays, taken as is: the region's factor does "
         "not scale it (default: the GPU preset's)", "R[,R...]"},
        {"outage", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_OUTAGE],
         "Mean outage length (default 1h)", "D[,D...]"},
        {"weekend-factor", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_WEEKEND_FACTOR],
         "Rate multiplier on Saturdays and Sundays (default 0.6: 40% fewer)", "F[,F...]"},
        {"on-demand-price", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_ON_DEMAND_PRICE],
         "On-demand price (default: the GPU preset's)", "PRICE[,...]"},
        {"discount", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_DISCOUNT],
         "Spot discount against on demand at peak hours, taken as is: the region's price factor "
         "does not scale it (default: the GPU preset's)", "F[,F...]"},
        {"offpeak-dip", 0, 0, G_OPTION_ARG_STRING, &option[SYNTH_OFFPEAK_DIP],
         "Further discount at night (22:00-06:00 UTC) and on weekends (default 0.12)",
         "F[,F...]"},
        {"hours", 0, 0, G_OPTION_ARG_DOUBLE, &hours, "Length in hours (default 168)", "H"},
        {"gap", 0, 0, G_OPTION_ARG_STRING, &gap, "Tick length (default 10m)", "DURATION"},
        {"start", 0, 0, G_OPTION_ARG_STRING, &start,
         "UTC time of the first tick (default 2025-01-06T00:00:00Z, a Monday)", "ISO"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed,
         "Random seed (default 1); pool i draws from stream i of it", "N"},
        {"presets", 0, 0, G_OPTION_ARG_NONE, &presets,
         "Print the GPU presets and region factors with their sources, and exit", NULL},
        {NULL},
    };
    /* clang-format on */
    int status = SPOTLAB_EXIT_USAGE;
    if (!cmd_parse_options(
            "trace synth", "",
            "Make a synthetic trace from interruption and price statistics (docs/traces.md).\n\n"
            "Options marked [,...] take one value for every pool or one per pool. A value given "
            "(in --pool or as an option) overrides the presets of --gpu and --region; --pool "
            "keys override the options.",
            entries, &argc, &argv))
        goto out;
    if (presets) {
        __synth_print_presets();
        status = SPOTLAB_EXIT_OK;
        goto out;
    }
    if (argc != 1 || output == NULL) {
        fprintf(stderr, "spotlab trace synth: expected -o OUTPUT and no other arguments\n");
        goto out;
    }
    if (pool_specs != NULL && pools != G_MININT) {
        fprintf(stderr, "spotlab trace synth: --pools: not allowed with --pool, whose count= "
                        "keys give the number of pools\n");
        goto out;
    }
    if (pools == G_MININT)
        pools = pool_specs == NULL ? 1 : 0;
    if (pool_specs == NULL && (pools < 1 || pools > 10000)) {
        fprintf(stderr, "spotlab trace synth: --pools: expected a number from 1 to 10000, got %d\n",
                pools);
        goto out;
    }
    if (seed < 0) {
        fprintf(stderr,
                "spotlab trace synth: --seed: expected a number >= 0, got %" G_GINT64_FORMAT "\n",
                seed);
        goto out;
    }
    if (gap != NULL && !scenario_parse_duration(gap, &base.gap_seconds)) {
        fprintf(stderr, "spotlab trace synth: --gap: expected a duration like 10m, got '%s'\n",
                gap);
        goto out;
    }

    base.hours = hours;
    base.seed = (guint64)seed;
    if (start != NULL)
        base.start_time = start;
    status = __synth_write(&base, pool_specs, pools, option, name, output);
out:
    for (int f = 0; f < SYNTH_N_FIELDS; f++)
        g_free(option[f]);
    return status;
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
