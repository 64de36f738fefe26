/* Real traces: every trace file under ../shared/traces-real imports with the options a user
 * would state (the convention SOURCES.md gives for its family, the time unit of step files, the
 * gap of per-tick prices), is detected as its format, and shows the facts SOURCES.md states:
 * tick counts and gaps per family, value ranges, the raw probe logs as the exact inverse of the
 * published 0/1 traces, the V100 price series aligned index for index with the availability
 * traces, the prices of the SkyNomad H100 traces and the shape of the Bamboo logs.
 *
 * Skipped (exit 77) where the shared folder is absent; tests/traces/test-import.c covers the
 * same code paths with small fixtures. */
#include "import.h"
#include "test-util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_t, json_decref)

static char *root; /* shared/traces-real */

static gint
__strcmp_ptr(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
__real_path(const char *relative)
{
    return g_build_filename(root, relative, NULL);
}

static TraceSet *
__import(const char *relative, const TraceImportOptions *opts)
{
    g_autofree char *path = __real_path(relative);
    g_autoptr(GError) error = NULL;
    TraceSet *set = trace_import(path, opts, &error);
    if (set == NULL)
        fprintf(stderr, "\n  %s: %s\n", relative, error->message);
    return set;
}

/* The files of a folder whose names end in @suffix, sorted. */
static GPtrArray *
__list(const char *relative, const char *suffix)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *dir = __real_path(relative);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL)
        if (g_str_has_suffix(name, suffix))
            g_ptr_array_add(names, g_build_filename(relative, name, NULL));
    g_ptr_array_sort(names, __strcmp_ptr);
    return names;
}

static json_t *
__load_json(const char *relative)
{
    g_autofree char *path = __real_path(relative);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL)
        fprintf(stderr, "\n  %s:%d:%d: %s\n", relative, jerr.line, jerr.column, jerr.text);
    return doc;
}

/* ---- every file --------------------------------------------------------------------------- */

/* How a user reads each family (SOURCES.md): the first entry that matches a path applies. */
typedef struct {
    const char *prefix;
    const char *suffix;
    const char *format; /* what detection must answer */
    TraceConvention convention;
    double time_unit;
    double gap_s;
    guint files;
} Family;

static const Family families[] = {
    /* Convention A. */
    {"spot-traces/", ".json", "tick-json", TRACE_CONVENTION_AVAILABILITY, 0, 0, 34},
    {"spothedge/", ".json", "tick-json", TRACE_CONVENTION_AVAILABILITY, 0, 0, 6},
    /* Convention B: the SkyNomad traces and the raw probe column `fail`. */
    {"skynomad/converted_multi_region_aligned_h100_16_merged/", "/full.json", "tick-json",
     TRACE_CONVENTION_PREEMPTED, 0, 0, 13},
    {"cbl-prototype/scripts/", ".txt", "probe", TRACE_CONVENTION_PREEMPTED, 0, 0, 24},
    /* Per-tick V100 prices on the 195 s ticks of aws-02-15-2023. */
    {"skynomad/data/v100_spot_prices.json", NULL, "price-json", 0, 0, 195, 1},
    {"skynomad/data/spot_price_cache/gcp/", ".json", "gcp-price", 0, 0, 0, 8},
    {"bamboo/traces/gcloud/", ".txt", "gcp-counts", 0, 0, 0, 2},
    {"bamboo/traces/", "-trace.csv", "events", 0, 0, 0, 2},
    /* Step files: seconds in the plain files, hours in the _scaled ones. The combined p2 file
     * has no _scaled twin, and its times (0 to 88.695 over Nov 20 to 23) are hours too. */
    {"bamboo/doc/data/aws-spot-instances-p2-xlarge-2020-11-20-to-2020-11-23.csv", NULL, "step-csv",
     0, 3600, 0, 1},
    {"bamboo/doc/data/", "_scaled.csv", "step-csv", 0, 3600, 0, 5},
    {"bamboo/doc/data/", ".csv", "step-csv", 0, 1, 0, 5},
};

/* Documentation and derived tables beside the traces. */
static gboolean
__not_a_trace(const char *relative)
{
    return g_str_has_suffix(relative, ".md") || g_str_has_suffix(relative, "_summary.csv") ||
           strstr(relative, "DERIVED_") != NULL;
}

static void
__walk(const char *relative, GPtrArray *out)
{
    g_autofree char *dir = relative ? __real_path(relative) : g_strdup(root);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *rel = relative ? g_build_filename(relative, name, NULL) : g_strdup(name);
        g_autofree char *full = __real_path(rel);
        if (g_file_test(full, G_FILE_TEST_IS_DIR))
            __walk(rel, out);
        else
            g_ptr_array_add(out, g_steal_pointer(&rel));
    }
}

/* The canonical form of @set reads back to the same canonical form. */
static void
__assert_round_trip(const TraceSet *set, const char *dir, const char *rel)
{
    g_autofree char *out = g_build_filename(dir, "trace.json", NULL);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FATAL(trace_set_write(set, out, &error));
    g_autoptr(TraceSet) back = trace_import(out, NULL, &error);
    if (back == NULL)
        fprintf(stderr, "\n  %s: the canonical form does not read back: %s\n", rel, error->message);
    CU_ASSERT_PTR_NOT_NULL(back);
    if (back == NULL)
        return;
    g_autofree char *a = trace_set_to_json(set);
    g_autofree char *b = trace_set_to_json(back);
    CU_ASSERT_STRING_EQUAL(a, b);
}

static void
test_every_file_imports(void)
{
    g_autofree char *tmp = test_tmpdir_new();
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    __walk(NULL, files);
    guint seen[G_N_ELEMENTS(families)] = {0};
    guint imported = 0, skipped = 0;
    for (guint i = 0; i < files->len; i++) {
        const char *rel = files->pdata[i];
        if (__not_a_trace(rel)) {
            skipped++;
            continue;
        }
        const Family *f = NULL;
        for (gsize k = 0; k < G_N_ELEMENTS(families) && f == NULL; k++)
            if (g_str_has_prefix(rel, families[k].prefix) &&
                (families[k].suffix == NULL || g_str_has_suffix(rel, families[k].suffix))) {
                f = &families[k];
                seen[k]++;
            }
        if (f == NULL)
            fprintf(stderr, "\n  %s: no family; SOURCES.md lists it nowhere\n", rel);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f == NULL)
            continue;
        g_autofree char *path = __real_path(rel);
        g_autoptr(GError) derr = NULL;
        const char *detected = trace_detect_format(path, &derr);
        if (g_strcmp0(detected, f->format) != 0)
            fprintf(stderr, "\n  %s: detected %s, expected %s\n", rel,
                    detected ? detected : derr->message, f->format);
        CU_ASSERT(g_strcmp0(detected, f->format) == 0);
        /* Detected, not named: the user states only what the format cannot say. */
        TraceImportOptions opts = {.convention = f->convention, .time_unit = f->time_unit};
        if (f->gap_s > 0)
            CU_ASSERT_FATAL(trace_seconds_to_us(f->gap_s, &opts.gap));
        g_autoptr(TraceSet) set = __import(rel, &opts);
        CU_ASSERT_PTR_NOT_NULL(set);
        if (set == NULL)
            continue;
        imported++;
        for (guint k = 0; k < trace_set_len(set); k++) {
            const TracePool *p = trace_set_pool(set, k);
            CU_ASSERT(p->has_capacity || p->has_price);
            CU_ASSERT(p->span > 0 || strcmp(f->format, "gcp-price") == 0);
            CU_ASSERT(g_strcmp0(p->source, path) == 0);
        }
        __assert_round_trip(set, tmp, rel);
    }
    for (gsize k = 0; k < G_N_ELEMENTS(families); k++) {
        if (seen[k] != families[k].files)
            fprintf(stderr, "\n  %s*%s: %u files, expected %u\n", families[k].prefix,
                    families[k].suffix ? families[k].suffix : "", seen[k], families[k].files);
        CU_ASSERT_EQUAL(seen[k], families[k].files);
    }
    /* 107 files: 101 traces, 6 notes and derived tables. */
    CU_ASSERT_EQUAL(imported, 101);
    CU_ASSERT_EQUAL(skipped, 6);
    printf("\n  %u trace files imported and converted\n", imported);
    test_tmpdir_remove(tmp);
}

/* ---- tick families ----------------------------------------------------------------------- */

static const struct {
    const char *dir;
    TraceConvention convention;
    guint files;
    double gap_s;
    guint min_ticks, max_ticks;
    guint max_value;      /* the family's largest capacity */
    double hours, within; /* the stated length of its longest file, to its stated precision */
    guint with_prices;
} tick_families[] = {
    {"spot-traces/availability/1-node/aws-10-26-2022", TRACE_CONVENTION_AVAILABILITY, 8, 600, 3895,
     3895, 1, 27.0 * 24, 0.05 * 24, 0},
    {"spot-traces/availability/1-node/aws-02-15-2023", TRACE_CONVENTION_AVAILABILITY, 9, 195, 20158,
     20158, 1, 45.5 * 24, 0.05 * 24, 0},
    {"spot-traces/availability/16-node/aws-08-27-2023", TRACE_CONVENTION_AVAILABILITY, 3, 300, 3247,
     4736, 16, 16 * 24, 0.5 * 24, 0},
    {"spot-traces/preemption/1-node/aws-04-22-2023", TRACE_CONVENTION_AVAILABILITY, 4, 32, 19961,
     19961, 1, 7.4 * 24, 0.05 * 24, 3},
    {"spot-traces/preemption/1-node/aws-04-19-2023", TRACE_CONVENTION_AVAILABILITY, 3, 34, 16090,
     16090, 1, 6.3 * 24, 0.05 * 24, 3},
    {"spot-traces/preemption/1-node/gcp-04-30-2023", TRACE_CONVENTION_AVAILABILITY, 4, 30, 5476,
     5476, 1, 1.9 * 24, 0.05 * 24, 0},
    {"spot-traces/preemption/4-node/aws-08-03-2023", TRACE_CONVENTION_AVAILABILITY, 3, 300, 3664,
     5131, 4, 17.8 * 24, 0.05 * 24, 0},
    {"spothedge/data/GCP1", TRACE_CONVENTION_AVAILABILITY, 6, 150, 770, 770, 4, 32, 0.5, 0},
    {"skynomad/converted_multi_region_aligned_h100_16_merged", TRACE_CONVENTION_PREEMPTED, 13, 600,
     2114, 2114, 1, 352, 0.5, 13},
};

static void
test_tick_families(void)
{
    for (gsize f = 0; f < G_N_ELEMENTS(tick_families); f++) {
        g_autoptr(GPtrArray) names = NULL;
        if (f + 1 == G_N_ELEMENTS(tick_families)) {
            /* <zone>_h100_16/full.json */
            names = g_ptr_array_new_with_free_func(g_free);
            g_autofree char *dir = __real_path(tick_families[f].dir);
            g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
            const char *name;
            while (d != NULL && (name = g_dir_read_name(d)) != NULL)
                if (g_str_has_suffix(name, "_h100_16"))
                    g_ptr_array_add(
                        names, g_build_filename(tick_families[f].dir, name, "full.json", NULL));
        } else {
            names = __list(tick_families[f].dir, ".json");
        }
        CU_ASSERT_EQUAL(names->len, tick_families[f].files);
        guint min_ticks = G_MAXUINT, max_ticks = 0, max_value = 0, with_prices = 0;
        double min_value = INFINITY, longest = 0;
        for (guint i = 0; i < names->len; i++) {
            TraceImportOptions opts = {.format = "tick-json",
                                       .convention = tick_families[f].convention};
            g_autoptr(TraceSet) set = __import(names->pdata[i], &opts);
            CU_ASSERT_PTR_NOT_NULL_FATAL(set);
            const TracePool *p = trace_set_pool(set, 0);
            CU_ASSERT_EQUAL(p->gap, llround(tick_families[f].gap_s * 1e6));
            CU_ASSERT_EQUAL(p->span % p->gap, 0);
            guint ticks = (guint)(p->span / p->gap);
            min_ticks = MIN(min_ticks, ticks);
            max_ticks = MAX(max_ticks, ticks);
            longest = MAX(longest, (double)p->span / 3.6e9);
            TracePoolStats st;
            trace_pool_stats(p, 1, &st);
            max_value = MAX(max_value, st.capacity_max);
            for (gsize k = 0; k < p->capacity.n; k++)
                min_value = MIN(min_value, p->capacity.value[k]);
            with_prices += p->has_price;
            /* The pool is named after its file (or folder) and placed in its zone. */
            CU_ASSERT_PTR_NOT_NULL(p->zone);
            CU_ASSERT(p->cloud != TRACE_CLOUD_UNKNOWN);
        }
        if (min_ticks != tick_families[f].min_ticks || max_ticks != tick_families[f].max_ticks ||
            max_value != tick_families[f].max_value)
            fprintf(stderr, "\n  %s: %u to %u ticks, values up to %u\n", tick_families[f].dir,
                    min_ticks, max_ticks, max_value);
        CU_ASSERT_EQUAL(min_ticks, tick_families[f].min_ticks);
        CU_ASSERT_EQUAL(max_ticks, tick_families[f].max_ticks);
        CU_ASSERT_EQUAL(max_value, tick_families[f].max_value);
        CU_ASSERT_EQUAL(min_value, 0);
        CU_ASSERT(fabs(longest - tick_families[f].hours) <= tick_families[f].within);
        CU_ASSERT_EQUAL(with_prices, tick_families[f].with_prices);
    }
}

/* aws-02-15-2023: availability from 16.7% (us-east-1a) to 90.5% (us-west-2b). */
static void
test_availability_range(void)
{
    g_autoptr(GPtrArray) names = __list("spot-traces/availability/1-node/aws-02-15-2023", ".json");
    CU_ASSERT_EQUAL_FATAL(names->len, 9);
    double lo = INFINITY, hi = -INFINITY;
    g_autofree char *lo_name = NULL, *hi_name = NULL;
    for (guint i = 0; i < names->len; i++) {
        TraceImportOptions opts = {.convention = TRACE_CONVENTION_AVAILABILITY};
        g_autoptr(TraceSet) set = __import(names->pdata[i], &opts);
        CU_ASSERT_PTR_NOT_NULL_FATAL(set);
        TracePoolStats st;
        trace_pool_stats(trace_set_pool(set, 0), 1, &st);
        if (st.availability < lo) {
            lo = st.availability;
            g_free(lo_name);
            lo_name = g_strdup(trace_set_pool(set, 0)->name);
        }
        if (st.availability > hi) {
            hi = st.availability;
            g_free(hi_name);
            hi_name = g_strdup(trace_set_pool(set, 0)->name);
        }
    }
    CU_ASSERT(fabs(lo - 0.167) < 0.0005);
    CU_ASSERT(fabs(hi - 0.905) < 0.0005);
    CU_ASSERT(g_strcmp0(lo_name, "us-east-1a_v100_1") == 0);
    CU_ASSERT(g_strcmp0(hi_name, "us-west-2b_v100_1") == 0);
}

/* Spot prices of the preemption traces: 0.918 for the V100s; r5.16xlarge from 1.14. */
static void
test_preemption_prices(void)
{
    static const struct {
        const char *dir;
        double min, max;
    } cases[] = {
        {"spot-traces/preemption/1-node/aws-04-22-2023", 0.918, 0.918},
        /* SOURCES.md says 1.14 to 1.75; the us-east-1c file runs from 1.7382 to 1.8515. */
        {"spot-traces/preemption/1-node/aws-04-19-2023", 1.14, 1.8515},
    };
    for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
        g_autoptr(GPtrArray) names = __list(cases[c].dir, ".json");
        double lo = INFINITY, hi = -INFINITY;
        for (guint i = 0; i < names->len; i++) {
            TraceImportOptions opts = {.convention = TRACE_CONVENTION_AVAILABILITY};
            g_autoptr(TraceSet) set = __import(names->pdata[i], &opts);
            CU_ASSERT_PTR_NOT_NULL_FATAL(set);
            const TracePool *p = trace_set_pool(set, 0);
            if (!p->has_price) {
                /* Only us-east-1f of 04-22 lacks prices. */
                CU_ASSERT(g_str_has_suffix(names->pdata[i], "us-east-1f_v100_1.json"));
                continue;
            }
            TracePoolStats st;
            trace_pool_stats(p, 1, &st);
            lo = MIN(lo, st.price_min);
            hi = MAX(hi, st.price_max);
        }
        CU_ASSERT_EQUAL(lo, cases[c].min);
        CU_ASSERT_EQUAL(hi, cases[c].max);
    }
}

/* ---- probe logs ----------------------------------------------------------------------------- */

static void
test_probe_periods(void)
{
    static const struct {
        const char *dir;
        guint rows;
    } periods[] = {
        {"cbl-prototype/scripts/availability/traces/2022-10-26T22-05", 3895},
        {"cbl-prototype/scripts/availability/traces/2022-11-28T22-23", 2140},
        {"cbl-prototype/scripts/availability/traces/2022-12-13T19-23", 3304},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(periods); i++) {
        g_autoptr(GPtrArray) names = __list(periods[i].dir, ".txt");
        CU_ASSERT_EQUAL(names->len, 8);
        /* The folder is named after the first probe's time (minutes). */
        g_autofree char *stamp = g_path_get_basename(periods[i].dir);
        stamp[13] = ':';
        for (guint k = 0; k < names->len; k++) {
            TraceImportOptions opts = {.convention = TRACE_CONVENTION_PREEMPTED};
            g_autoptr(TraceSet) set = __import(names->pdata[k], &opts);
            CU_ASSERT_PTR_NOT_NULL_FATAL(set);
            const TracePool *p = trace_set_pool(set, 0);
            /* Probes every ~10 min (600 or 601 s apart): a 600 s tick series, one tick a row. */
            CU_ASSERT_EQUAL(p->gap, 600 * G_GINT64_CONSTANT(1000000));
            CU_ASSERT_EQUAL(p->span / p->gap, periods[i].rows);
            CU_ASSERT(p->start_time != NULL && g_str_has_prefix(p->start_time, stamp));
        }
    }
}

/* The 10-26 probe logs read in the preempted convention are the published availability traces
 * of aws-10-26-2022 read in the availability convention, tick for tick. */
static void
test_probe_is_inverse_of_published(void)
{
    g_autoptr(GPtrArray) names =
        __list("cbl-prototype/scripts/availability/traces/2022-10-26T22-05", ".txt");
    CU_ASSERT_EQUAL_FATAL(names->len, 8);
    guint compared = 0;
    for (guint k = 0; k < names->len; k++) {
        g_autofree char *base = g_path_get_basename(names->pdata[k]);
        *strrchr(base, '.') = '\0';
        g_autofree char *json =
            g_strdup_printf("spot-traces/availability/1-node/aws-10-26-2022/%s.json", base);
        TraceImportOptions pre = {.format = "probe", .convention = TRACE_CONVENTION_PREEMPTED};
        TraceImportOptions av = {.format = "tick-json",
                                 .convention = TRACE_CONVENTION_AVAILABILITY};
        g_autoptr(TraceSet) raw = __import(names->pdata[k], &pre);
        g_autoptr(TraceSet) pub = __import(json, &av);
        CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
        const TracePool *a = trace_set_pool(raw, 0), *b = trace_set_pool(pub, 0);
        CU_ASSERT_EQUAL(a->gap, b->gap);
        CU_ASSERT_EQUAL(a->span, b->span);
        g_autofree guint8 *av_a = NULL, *av_b = NULL;
        g_autofree double *pr_a = NULL, *pr_b = NULL;
        gsize na = 0, nb = 0;
        CU_ASSERT_FATAL(trace_pool_sample_ticks(a, a->gap, 1, 1.0, &av_a, &pr_a, &na, NULL));
        CU_ASSERT_FATAL(trace_pool_sample_ticks(b, b->gap, 1, 1.0, &av_b, &pr_b, &nb, NULL));
        CU_ASSERT_EQUAL_FATAL(na, 3895);
        CU_ASSERT_EQUAL_FATAL(nb, 3895);
        gsize differ = 0;
        for (gsize i = 0; i < na; i++)
            differ += av_a[i] != av_b[i];
        if (differ > 0)
            fprintf(stderr, "\n  %s: %zu of %zu ticks differ\n", base, differ, na);
        CU_ASSERT_EQUAL(differ, 0);
        /* The same change points, too. */
        CU_ASSERT_EQUAL(a->capacity.n, b->capacity.n);
        compared++;
    }
    CU_ASSERT_EQUAL(compared, 8);
}

/* ---- prices -----------------------------------------------------------------------------------
 */

/* v100_spot_prices.json on 195 s ticks aligns index for index with the 20158 ticks of the
 * aws-02-15-2023 availability traces of the same names. */
static void
test_v100_prices_align(void)
{
    const char *prices_rel = "skynomad/data/v100_spot_prices.json";
    g_autoptr(json_t) doc = __load_json(prices_rel);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(json_object_size(doc), 9);

    TraceImportOptions all = {.gap = 195 * G_GINT64_CONSTANT(1000000)};
    g_autoptr(TraceSet) every = __import(prices_rel, &all);
    CU_ASSERT_PTR_NOT_NULL_FATAL(every);
    CU_ASSERT_EQUAL(trace_set_len(every), 9);
    double lo = INFINITY, hi = -INFINITY;
    for (guint k = 0; k < trace_set_len(every); k++) {
        TracePoolStats st;
        trace_pool_stats(trace_set_pool(every, k), 1, &st);
        lo = MIN(lo, st.price_min);
        hi = MAX(hi, st.price_max);
        CU_ASSERT_EQUAL(trace_set_pool(every, k)->span / trace_set_pool(every, k)->gap, 20158);
    }
    CU_ASSERT_EQUAL(lo, 0.918);
    CU_ASSERT_EQUAL(hi, 1.8464);

    g_autoptr(GPtrArray) names = __list("spot-traces/availability/1-node/aws-02-15-2023", ".json");
    CU_ASSERT_EQUAL_FATAL(names->len, 9);
    for (guint k = 0; k < names->len; k++) {
        TraceImportOptions av = {.convention = TRACE_CONVENTION_AVAILABILITY};
        g_autoptr(TraceSet) set = __import(names->pdata[k], &av);
        CU_ASSERT_PTR_NOT_NULL_FATAL(set);
        TracePool *pool = trace_set_pool(set, 0);
        /* As a scenario reads it: the key is the pool's name, the gap the pool's. */
        TraceImportOptions popts = {.key = pool->name, .gap = pool->gap};
        g_autoptr(TraceSet) prices = __import(prices_rel, &popts);
        CU_ASSERT_PTR_NOT_NULL_FATAL(prices);
        CU_ASSERT_EQUAL_FATAL(trace_set_len(prices), 1);
        CU_ASSERT_EQUAL(trace_set_pool(prices, 0)->span, pool->span);
        CU_ASSERT_FATAL(trace_pool_apply_prices(pool, trace_set_pool(prices, 0), NULL));
        g_autofree guint8 *avail = NULL;
        g_autofree double *price = NULL;
        gsize n = 0;
        CU_ASSERT_FATAL(trace_pool_sample_ticks(pool, pool->gap, 1, NAN, &avail, &price, &n, NULL));
        CU_ASSERT_EQUAL_FATAL(n, 20158);
        json_t *series = json_object_get(doc, pool->name);
        CU_ASSERT_FATAL(json_is_array(series) && json_array_size(series) == n);
        gsize differ = 0;
        for (gsize i = 0; i < n; i++)
            differ += price[i] != json_number_value(json_array_get(series, i));
        CU_ASSERT_EQUAL(differ, 0);
    }
}

/* The 13 SkyNomad H100 traces: 2114 ticks of 600 s from 2025-10-04T00:10Z, each with the spot
 * price of metadata.price_info (constant, as prices[] is) and its on-demand price. */
static void
test_skynomad_h100_prices(void)
{
    const char *base = "skynomad/converted_multi_region_aligned_h100_16_merged";
    g_autofree char *dir = __real_path(base);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    const char *name;
    guint checked = 0;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_suffix(name, "_h100_16"))
            continue;
        g_autofree char *rel = g_build_filename(base, name, "full.json", NULL);
        g_autoptr(json_t) doc = __load_json(rel);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        json_t *info = json_object_get(json_object_get(doc, "metadata"), "price_info");
        double spot = json_number_value(json_object_get(info, "price"));
        double od = json_number_value(json_object_get(info, "on_demand_price"));
        CU_ASSERT(spot > 0 && od > spot);

        TraceImportOptions opts = {.convention = TRACE_CONVENTION_PREEMPTED};
        g_autoptr(TraceSet) set = __import(rel, &opts);
        CU_ASSERT_PTR_NOT_NULL_FATAL(set);
        const TracePool *p = trace_set_pool(set, 0);
        CU_ASSERT_STRING_EQUAL(p->name, name);
        CU_ASSERT_EQUAL(p->cloud, TRACE_CLOUD_GCP);
        CU_ASSERT(p->start_time != NULL && g_str_has_prefix(p->start_time, "2025-10-04T00:10"));
        CU_ASSERT_EQUAL(p->span / p->gap, 2114);
        CU_ASSERT(p->has_price);
        CU_ASSERT_EQUAL(p->price.n, 1);
        CU_ASSERT_EQUAL(p->price.value[0], spot);
        CU_ASSERT_EQUAL(p->on_demand_price, od);
        /* Convention B: a tick is available where data[] says 0. */
        json_t *data = json_object_get(doc, "data");
        gsize available = 0;
        for (gsize i = 0; i < json_array_size(data); i++)
            available += json_integer_value(json_array_get(data, i)) == 0;
        TracePoolStats st;
        trace_pool_stats(p, 1, &st);
        TEST_ASSERT_REL(st.availability, (double)available / 2114, 1e-12);
        checked++;
    }
    CU_ASSERT_EQUAL(checked, 13);
}

static void
test_gcp_price_cache(void)
{
    g_autoptr(GPtrArray) names = __list("skynomad/data/spot_price_cache/gcp", ".json");
    CU_ASSERT_EQUAL_FATAL(names->len, 8);
    for (guint i = 0; i < names->len; i++) {
        g_autoptr(json_t) doc = __load_json(names->pdata[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        g_autoptr(TraceSet) set = __import(names->pdata[i], NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(set);
        const TracePool *p = trace_set_pool(set, 0);
        CU_ASSERT_EQUAL(p->cloud, TRACE_CLOUD_GCP);
        CU_ASSERT(g_strcmp0(p->region, json_string_value(json_object_get(doc, "region"))) == 0);
        CU_ASSERT(g_strcmp0(p->instance_type, "a3-highgpu-8g") == 0);
        CU_ASSERT_EQUAL(p->price.value[0], json_number_value(json_object_get(doc, "price")));
        CU_ASSERT_EQUAL(p->on_demand_price,
                        json_number_value(json_object_get(doc, "on_demand_price")));
    }
}

/* ---- Bamboo -------------------------------------------------------------------------------- */

/* g4dn: 153 events over 10.6 h, up to 24 nodes; p3: 344 events over 11.4 h, up to 32. The
 * count at the end is the adds less the removes, counted here from the raw lines. */
static void
test_bamboo_events(void)
{
    static const struct {
        const char *file;
        guint events;
        double hours;
        guint peak;
    } cases[] = {
        {"bamboo/traces/g4dn-trace.csv", 153, 10.6, 24},
        {"bamboo/traces/p3-trace.csv", 344, 11.4, 32},
    };
    for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
        g_autofree char *path = __real_path(cases[c].file);
        g_autofree char *text = NULL;
        CU_ASSERT_FATAL(g_file_get_contents(path, &text, NULL, NULL));
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        guint events = 0;
        int alive = 0;
        for (guint i = 0; lines[i] != NULL; i++) {
            if (*g_strstrip(lines[i]) == '\0')
                continue;
            events++;
            alive += strstr(lines[i], ",add,") != NULL ? 1 : -1;
        }
        CU_ASSERT_EQUAL(events, cases[c].events);

        g_autoptr(TraceSet) set = __import(cases[c].file, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(set);
        const TracePool *p = trace_set_pool(set, 0);
        CU_ASSERT_EQUAL(p->requested, cases[c].peak);
        TracePoolStats st;
        trace_pool_stats(p, 1, &st);
        CU_ASSERT_EQUAL(st.capacity_max, cases[c].peak);
        /* From the first event (the first change point after the empty start) to the last. */
        gint64 first = p->capacity.value[0] == 0 ? p->capacity.time[1] : 0;
        double hours = (double)(p->span - first) / 3.6e9;
        CU_ASSERT(fabs(hours - cases[c].hours) < 0.05 + 1e-9);
        CU_ASSERT_EQUAL(trace_step_at(&p->capacity, p->span), alive);
        CU_ASSERT(st.instances_lost > 0);
    }
}

/* GCP preemptible counts over about 27 h (A100) and 24 h (V100), Dec 2021. */
static void
test_bamboo_counts(void)
{
    static const struct {
        const char *file;
        double hours;
    } cases[] = {
        {"bamboo/traces/gcloud/a100x1-east1b.txt", 27},
        {"bamboo/traces/gcloud/v100x1-east1c.txt", 24},
    };
    for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
        g_autoptr(TraceSet) set = __import(cases[c].file, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(set);
        const TracePool *p = trace_set_pool(set, 0);
        CU_ASSERT(fabs((double)p->span / 3.6e9 - cases[c].hours) < 0.5);
        CU_ASSERT(p->start_time != NULL && g_str_has_prefix(p->start_time, "2021-12-"));
        CU_ASSERT_EQUAL(p->cloud, TRACE_CLOUD_GCP);
        CU_ASSERT(p->requested > 0);
        for (gsize i = 1; i < p->capacity.n; i++)
            CU_ASSERT(p->capacity.time[i] > p->capacity.time[i - 1]);
    }
}

/* The plain (seconds) and _scaled (hours, 3 decimals) step files give one step function. */
static void
test_bamboo_step_pairs(void)
{
    g_autoptr(GPtrArray) scaled = __list("bamboo/doc/data", "_scaled.csv");
    CU_ASSERT_EQUAL_FATAL(scaled->len, 5);
    for (guint k = 0; k < scaled->len; k++) {
        const char *h_rel = scaled->pdata[k];
        g_autofree char *s_rel = g_strndup(h_rel, strlen(h_rel) - strlen("_scaled.csv"));
        g_autofree char *s_rel_csv = g_strconcat(s_rel, ".csv", NULL);
        TraceImportOptions hours = {.time_unit = 3600}, seconds = {.time_unit = 1};
        g_autoptr(TraceSet) hs = __import(h_rel, &hours);
        g_autoptr(TraceSet) ss = __import(s_rel_csv, &seconds);
        CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ss);
        const TracePool *h = trace_set_pool(hs, 0), *s = trace_set_pool(ss, 0);
        CU_ASSERT_EQUAL(h->capacity.n, s->capacity.n);
        for (gsize i = 0; i < MIN(h->capacity.n, s->capacity.n); i++) {
            CU_ASSERT_EQUAL(h->capacity.value[i], s->capacity.value[i]);
            /* 0.0005 h of rounding is 1.8 s. */
            CU_ASSERT(llabs(h->capacity.time[i] - s->capacity.time[i]) <= 1800000);
        }
        CU_ASSERT(llabs(h->span - s->span) <= 1800000);
        CU_ASSERT_EQUAL(h->requested, s->requested);
    }
    /* The combined p2 file spans Nov 20 to 23: 88.7 h. */
    TraceImportOptions hours = {.time_unit = 3600};
    g_autoptr(TraceSet) p2 = __import(
        "bamboo/doc/data/aws-spot-instances-p2-xlarge-2020-11-20-to-2020-11-23.csv", &hours);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p2);
    CU_ASSERT(fabs((double)trace_set_pool(p2, 0)->span / 3.6e9 - 88.695) < 1e-9);
}

int
main(void)
{
    const char *shared = test_shared_dir();
    if (shared == NULL) {
        printf("SKIP: the shared folder with the real traces is absent (SPOTLAB_SHARED=%s)\n",
               g_getenv("SPOTLAB_SHARED"));
        return TEST_SKIP;
    }
    root = g_build_filename(shared, "traces-real", NULL);
    if (!g_file_test(root, G_FILE_TEST_IS_DIR)) {
        printf("SKIP: %s is absent\n", root);
        g_free(root);
        return TEST_SKIP;
    }
    CU_initialize_registry();
    CU_pSuite suite = CU_add_suite("traces-real", NULL, NULL);
    CU_add_test(suite, "every_file_imports", test_every_file_imports);
    CU_add_test(suite, "tick_families", test_tick_families);
    CU_add_test(suite, "availability_range", test_availability_range);
    CU_add_test(suite, "preemption_prices", test_preemption_prices);
    CU_add_test(suite, "probe_periods", test_probe_periods);
    CU_add_test(suite, "probe_is_inverse_of_published", test_probe_is_inverse_of_published);
    CU_add_test(suite, "v100_prices_align", test_v100_prices_align);
    CU_add_test(suite, "skynomad_h100_prices", test_skynomad_h100_prices);
    CU_add_test(suite, "gcp_price_cache", test_gcp_price_cache);
    CU_add_test(suite, "bamboo_events", test_bamboo_events);
    CU_add_test(suite, "bamboo_counts", test_bamboo_counts);
    CU_add_test(suite, "bamboo_step_pairs", test_bamboo_step_pairs);
    int status = test_run_all();
    g_free(root);
    return status;
}
