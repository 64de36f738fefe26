/* The scenario field readers: units read as users mean them, and continuous-model scenarios
 * that are right load with the values they state.
 *
 * tests/cli/test-bad-input.c holds the other half: every way to get a field wrong is refused
 * with its place. This file holds what those cases cannot show, that what is accepted is read
 * correctly: bits and bytes in bandwidths, a rate given beside a GPU preset, both ends of a
 * uniform distribution. */
#include "scenario-private.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <string.h>

static void
test_sizes(void)
{
    double gb = -1;
    CU_ASSERT(scenario_parse_size("40GB", &gb));
    TEST_ASSERT_REL(gb, 40, 1e-12);
    CU_ASSERT(scenario_parse_size("500MB", &gb));
    TEST_ASSERT_REL(gb, 0.5, 1e-12);
    CU_ASSERT(scenario_parse_size("8GiB", &gb));
    TEST_ASSERT_REL(gb, 8 * 1.073741824, 1e-12);
    /* Bits make no sense for a size: "40gb" can only mean gigabytes. */
    CU_ASSERT(scenario_parse_size("40gb", &gb));
    TEST_ASSERT_REL(gb, 40, 1e-12);
    CU_ASSERT_FALSE(scenario_parse_size("40 gigs", &gb));
    CU_ASSERT_FALSE(scenario_parse_size("-40GB", &gb));
    CU_ASSERT_FALSE(scenario_parse_size("GB", &gb));
}

static void
test_bandwidths_tell_bits_from_bytes(void)
{
    double gbps = -1;
    CU_ASSERT(scenario_parse_bandwidth("1GB/s", &gbps));
    TEST_ASSERT_REL(gbps, 1, 1e-12);
    CU_ASSERT(scenario_parse_bandwidth("500MB/s", &gbps));
    TEST_ASSERT_REL(gbps, 0.5, 1e-12);
    CU_ASSERT(scenario_parse_bandwidth("10Gbit/s", &gbps));
    TEST_ASSERT_REL(gbps, 1.25, 1e-12);
    /* A lower-case b is a bit, as in network speeds: 100Mb/s is 12.5 MB/s, not 100 MB/s. */
    CU_ASSERT(scenario_parse_bandwidth("10Gb/s", &gbps));
    TEST_ASSERT_REL(gbps, 1.25, 1e-12);
    CU_ASSERT(scenario_parse_bandwidth("100Mb/s", &gbps));
    TEST_ASSERT_REL(gbps, 0.0125, 1e-12);
    CU_ASSERT(scenario_parse_bandwidth("100Mbps", &gbps));
    TEST_ASSERT_REL(gbps, 0.0125, 1e-12);
    CU_ASSERT(scenario_parse_bandwidth("1gb/s", &gbps));
    TEST_ASSERT_REL(gbps, 0.125, 1e-12);
    /* Other letters still match in any case. */
    CU_ASSERT(scenario_parse_bandwidth("2gB/S", &gbps));
    TEST_ASSERT_REL(gbps, 2, 1e-12);
    CU_ASSERT_FALSE(scenario_parse_bandwidth("1GBPS", &gbps));
    CU_ASSERT_FALSE(scenario_parse_bandwidth("fast", &gbps));
}

static void
test_rates(void)
{
    double per_hour = -1;
    CU_ASSERT(scenario_parse_rate("4.1%/h", &per_hour));
    TEST_ASSERT_REL(per_hour, 0.041, 1e-12);
    CU_ASSERT(scenario_parse_rate("1/day", &per_hour));
    TEST_ASSERT_REL(per_hour, 1.0 / 24, 1e-12);
    CU_ASSERT_FALSE(scenario_parse_rate("lots", &per_hour));
}

/* A continuous scenario in a temporary file, loaded. */
static Scenario *
__load(const char *text, char **err)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *path = g_build_filename(dir, "fields.json", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(path, text, -1, NULL));
    g_autoptr(GError) error = NULL;
    Scenario *sc = scenario_load(path, &error);
    if (err != NULL)
        *err = sc == NULL ? g_strdup(error->message) : NULL;
    else if (sc == NULL)
        fprintf(stderr, "%s\n", error->message);
    test_tmpdir_remove(dir);
    return sc;
}

static void
test_continuous_scenario_reads_as_written(void)
{
    static const char text[] =
        "{\n"
        "  \"model\": \"continuous\",\n"
        "  \"replicas\": 3,\n"
        "  \"clouds\": {\"aws\": {\"provisioning\": {\"uniform\": [\"1m\", \"3m\"]}}},\n"
        "  \"pools\": [\n"
        "    {\"name\": \"a\", \"cloud\": \"aws\", \"instance_type\": \"p3.2xlarge\",\n"
        "     \"hazard\": {\"gpu\": \"v100\", \"rate\": \"2%/h\"},\n"
        "     \"spot_price\": \"$0.92/h\", \"on_demand_price\": \"$3.06/h\"},\n"
        "    {\"name\": \"b\", \"cloud\": \"gcp\", \"hazard\": {\"gpu\": \"a100\"},\n"
        "     \"spot_price\": \"$1.47/h\", \"on_demand_price\": \"$3.67/h\"}\n"
        "  ],\n"
        "  \"job\": {\"steps\": 1000, \"step_time\": {\"default\": \"1s\", \"p3.2xlarge\": "
        "\"0.9s\"},\n"
        "          \"checkpoint\": {\"size\": \"40GB\", \"write\": \"800Mb/s\", "
        "\"restore\": \"2GB/s\"}},\n"
        "  \"strategies\": [{\"preset\": \"failover\", \"pools\": [\"b\", \"a\"]}]\n"
        "}\n";
    g_autoptr(Scenario) sc = __load(text, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    const SimModel *m = sc->cloud;
    const SimDist *prov = &m->clouds[SIM_CLOUD_AWS].provisioning;
    CU_ASSERT_EQUAL(prov->kind, SIM_DIST_UNIFORM);
    TEST_ASSERT_REL(prov->a, 60, 1e-12);
    TEST_ASSERT_REL(prov->b, 180, 1e-12);
    /* An explicit rate beats the GPU's published one; without one, the published rate. */
    TEST_ASSERT_REL(sim_model_pool(m, 0)->hazard.rate_per_hour, 0.02, 1e-12);
    TEST_ASSERT_REL(sim_model_pool(m, 1)->hazard.rate_per_hour, 0.023, 1e-12);
    TEST_ASSERT_REL(sim_job_step_seconds(&m->job, "p3.2xlarge"), 0.9, 1e-12);
    TEST_ASSERT_REL(sim_job_step_seconds(&m->job, "b"), 1, 1e-12);
    TEST_ASSERT_REL(m->job.write_gbps, 0.1, 1e-12);
    TEST_ASSERT_REL(m->job.restore_gbps, 2, 1e-12);
    const SimStrategy *s = sc->strategies->pdata[0];
    CU_ASSERT_EQUAL_FATAL(s->n_pools, 2);
    CU_ASSERT_EQUAL(s->pools[0], 1);
    CU_ASSERT_EQUAL(s->pools[1], 0);
}

static void
test_uniform_element_is_located(void)
{
    /* The elements of [from, to] are reported where they are, not at the list. */
    static const char text[] = "{\n"
                               "  \"model\": \"continuous\",\n"
                               "  \"clouds\": {\"gcp\": {\"provisioning\": {\n"
                               "    \"uniform\": [\"1m\",\n"
                               "                \"soon\"]}}},\n"
                               "  \"pools\": []\n"
                               "}\n";
    g_autofree char *err = NULL;
    g_autoptr(Scenario) sc = __load(text, &err);
    CU_ASSERT_PTR_NULL(sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "fields.json:5:17: clouds.gcp.provisioning.uniform[1]: "));
}

static void
test_dotted_key_is_located(void)
{
    /* Instance types hold dots: the field reads job.step_time["p3.2xlarge"] and points at the
     * value. */
    static const char text[] = "{\n"
                               "  \"model\": \"continuous\",\n"
                               "  \"pools\": [{\"name\": \"a\", \"cloud\": \"aws\", "
                               "\"instance_type\": \"p3.2xlarge\",\n"
                               "             \"hazard\": {\"gpu\": \"v100\"}, \"spot_price\": 1, "
                               "\"on_demand_price\": 3}],\n"
                               "  \"job\": {\"steps\": 100, \"step_time\": {\"default\": \"1s\",\n"
                               "      \"p3.2xlarge\": \"soon\"}},\n"
                               "  \"strategies\": [{\"preset\": \"on-demand\"}]\n"
                               "}\n";
    g_autofree char *err = NULL;
    g_autoptr(Scenario) sc = __load(text, &err);
    CU_ASSERT_PTR_NULL(sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "fields.json:6:21: job.step_time[\"p3.2xlarge\"]: "));
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite suite = CU_add_suite("scenario-fields", NULL, NULL);
    CU_add_test(suite, "sizes", test_sizes);
    CU_add_test(suite, "bandwidths tell bits from bytes", test_bandwidths_tell_bits_from_bytes);
    CU_add_test(suite, "rates", test_rates);
    CU_add_test(suite, "a continuous scenario reads as written",
                test_continuous_scenario_reads_as_written);
    CU_add_test(suite, "a uniform's element is located", test_uniform_element_is_located);
    CU_add_test(suite, "a key with dots is located", test_dotted_key_is_located);
    return test_run_all();
}
