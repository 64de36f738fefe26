/* spotlab tests: the training workload as a process (spotlab-train), as the testbed runs it:
 * loss, checkpoints, bit-identical resume after kill -9, SIGTERM and metadata notices, damaged
 * checkpoints, bad usage. */
#include "checkpoint.h"
#include "checkpoint-util.h"
#include "test-util.h"
#include "workload-util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT 600.0 /* seconds: generous, valgrind runs these too */

static const char *
__train_bin(void)
{
    const char *bin = g_getenv("SPOTLAB_TRAIN_BIN");
    g_assert(bin != NULL);
    return bin;
}

/* Runs spotlab-train with @args (NULL-terminated) and @env to its end; returns the exit
 * status and, in @w_out, the workload with its progress lines. */
static int
__train(const char *const *args, const char *const *env, TestWorkload **w_out)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)__train_bin());
    for (int i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    g_autoptr(GError) error = NULL;
    TestWorkload *w = test_workload_spawn((const char *const *)argv->pdata, env, &error);
    if (w == NULL) {
        fprintf(stderr, "cannot start %s: %s\n", __train_bin(), error->message);
        *w_out = NULL;
        return -1;
    }
    int status = test_workload_wait(w, TIMEOUT);
    *w_out = w;
    return status;
}

static TestWorkload *
__train_start(const char *const *args, const char *const *env)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)__train_bin());
    for (int i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    g_autoptr(GError) error = NULL;
    TestWorkload *w = test_workload_spawn((const char *const *)argv->pdata, env, &error);
    if (w == NULL)
        fprintf(stderr, "cannot start %s: %s\n", __train_bin(), error->message);
    return w;
}

/* Lines of @w whose event is @event. */
static guint
__count(TestWorkload *w, const char *event)
{
    guint n = 0;
    GPtrArray *lines = test_workload_lines(w);
    for (guint i = 0; i < lines->len; i++)
        if (g_strcmp0(json_string_value(json_object_get(g_ptr_array_index(lines, i), "event")),
                      event) == 0)
            n++;
    return n;
}

static json_t *
__last(TestWorkload *w, const char *event)
{
    GPtrArray *lines = test_workload_lines(w);
    for (guint i = lines->len; i-- > 0;)
        if (g_strcmp0(json_string_value(json_object_get(g_ptr_array_index(lines, i), "event")),
                      event) == 0)
            return g_ptr_array_index(lines, i);
    return NULL;
}

/* The loss falls, the run ends with a final checkpoint, the progress lines tell it all. */
static void
test_loss_falls(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autoptr(TestWorkload) w = NULL;
    const char *args[] = {"--steps", "200", "--checkpoint-dir", dir, NULL};
    CU_ASSERT_EQUAL(__train(args, NULL, &w), 0);
    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL(__count(w, "hello"), 1);
    CU_ASSERT_EQUAL(__count(w, "start"), 1);
    CU_ASSERT_EQUAL(__count(w, "step"), 200);
    double first = 0, last = 0;
    GPtrArray *lines = test_workload_lines(w);
    guint k = 0;
    for (guint i = 0; i < lines->len; i++) {
        json_t *line = g_ptr_array_index(lines, i);
        if (g_strcmp0(json_string_value(json_object_get(line, "event")), "step") != 0)
            continue;
        double loss = json_number_value(json_object_get(line, "loss"));
        if (k < 20)
            first += loss / 20;
        else if (k >= 180)
            last += loss / 20;
        k++;
    }
    CU_ASSERT(first > 3.5); /* about log(64) = 4.16 at the start */
    CU_ASSERT(last < 0.75 * first);
    json_t *end = __last(w, "checkpoint_end");
    CU_ASSERT_FATAL(end != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(end, "kind")), "final");
    CU_ASSERT(json_is_true(json_object_get(end, "ok")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(end, "step")), 200);
    json_t *exit_line = __last(w, "exit");
    CU_ASSERT_FATAL(exit_line != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(exit_line, "reason")), "completed");
    g_autofree char *final = test_checkpoint_path(dir, 200);
    CU_ASSERT(g_file_test(final, G_FILE_TEST_IS_REGULAR));
    /* A tiny model's checkpoint stays under 1 MB. */
    CU_ASSERT(json_integer_value(json_object_get(end, "bytes")) < 1000000);

    /* Run again: the work is done, nothing is trained or written. */
    g_autoptr(TestWorkload) again = NULL;
    CU_ASSERT_EQUAL(__train(args, NULL, &again), 0);
    CU_ASSERT_EQUAL(__count(again, "step"), 0);
    CU_ASSERT_EQUAL(__count(again, "checkpoint_start"), 0);
    test_tmpdir_remove(dir);
}

/* 100 steps straight against 40 steps, kill -9, resume, 60 steps: the same bytes. */
static void
test_resume_bit_identical(void)
{
    g_autofree char *straight = test_tmpdir_new();
    g_autofree char *killed = test_tmpdir_new();
    g_autoptr(TestWorkload) a = NULL;
    const char *args_a[] = {"--steps", "100", "--checkpoint-dir", straight, NULL};
    CU_ASSERT_EQUAL(__train(args_a, NULL, &a), 0);

    const char *args_b[] = {
        "--steps", "100", "--checkpoint-dir", killed, "--checkpoint-every", "20", "--hang-at",
        "40",      NULL};
    g_autoptr(TestWorkload) b = __train_start(args_b, NULL);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_FATAL(test_workload_wait_event(b, "checkpoint_end", 40, TIMEOUT) != NULL);
    test_workload_signal(b, SIGKILL);
    CU_ASSERT_EQUAL(test_workload_wait(b, 60), 128 + SIGKILL);
    CU_ASSERT_EQUAL(__count(b, "step"), 40);

    const char *args_c[] = {"--steps", "100", "--checkpoint-dir", killed, NULL};
    g_autoptr(TestWorkload) c = NULL;
    CU_ASSERT_EQUAL(__train(args_c, NULL, &c), 0);
    json_t *resume = __last(c, "resume");
    CU_ASSERT_FATAL(resume != NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(resume, "step")), 40);
    CU_ASSERT_EQUAL(__count(c, "step"), 60);

    g_autofree char *fa = test_checkpoint_path(straight, 100),
                    *fc = test_checkpoint_path(killed, 100);
    CU_ASSERT(test_same_training_state(fa, fc));
    /* The losses after the resume are those of the straight run, bit for bit. */
    GPtrArray *la = test_workload_lines(a), *lc = test_workload_lines(c);
    guint matched = 0;
    for (guint i = 0; i < lc->len; i++) {
        json_t *x = g_ptr_array_index(lc, i);
        if (g_strcmp0(json_string_value(json_object_get(x, "event")), "step") != 0)
            continue;
        for (guint j = 0; j < la->len; j++) {
            json_t *y = g_ptr_array_index(la, j);
            if (g_strcmp0(json_string_value(json_object_get(y, "event")), "step") == 0 &&
                json_equal(json_object_get(x, "step"), json_object_get(y, "step"))) {
                CU_ASSERT(json_equal(json_object_get(x, "loss"), json_object_get(y, "loss")));
                matched++;
            }
        }
    }
    CU_ASSERT_EQUAL(matched, 60);
    test_tmpdir_remove(straight);
    test_tmpdir_remove(killed);
}

/* kill -9 at random moments of a run with asynchronous checkpoints, resume each time: the
 * end is still the uninterrupted run's, byte for byte. */
static void
test_random_kills_async(void)
{
    g_autofree char *straight = test_tmpdir_new();
    g_autofree char *killed = test_tmpdir_new();
    g_autoptr(TestWorkload) a = NULL;
    const char *args_a[] = {"--steps", "120", "--checkpoint-dir", straight, NULL};
    CU_ASSERT_EQUAL(__train(args_a, NULL, &a), 0);

    const char *args[] = {"--steps", "120", "--checkpoint-dir", killed, "--checkpoint-every", "7",
                          "--async", NULL};
    GRand *rand = g_rand_new_with_seed(20261127);
    int kills = 0;
    for (int round = 0; round < 8; round++) {
        g_autoptr(TestWorkload) w = __train_start(args, NULL);
        CU_ASSERT_FATAL(w != NULL);
        if (round < 3) {
            /* Let it train a random number of steps past where it resumed, then kill it. */
            json_t *first = test_workload_wait_event(w, "step", -1, TIMEOUT);
            if (first != NULL) {
                gint64 at = json_integer_value(json_object_get(first, "step")) +
                            g_rand_int_range(rand, 5, 30);
                if (at < 118 && test_workload_wait_event(w, "step", at, TIMEOUT) != NULL) {
                    test_workload_signal(w, SIGKILL);
                    CU_ASSERT_EQUAL(test_workload_wait(w, 60), 128 + SIGKILL);
                    kills++;
                    continue;
                }
            }
        }
        CU_ASSERT_EQUAL(test_workload_wait(w, TIMEOUT), 0);
        break;
    }
    g_rand_free(rand);
    CU_ASSERT(kills >= 2);
    g_autofree char *fa = test_checkpoint_path(straight, 120),
                    *fk = test_checkpoint_path(killed, 120);
    CU_ASSERT(test_same_training_state(fa, fk));
    /* --keep 3 (the default) holds: no more than three checkpoints are left. */
    g_autoptr(GDir) d = g_dir_open(killed, 0, NULL);
    int n = 0;
    for (const char *name = NULL; d != NULL && (name = g_dir_read_name(d)) != NULL;)
        n += g_str_has_prefix(name, "ckpt-");
    CU_ASSERT(n >= 1 && n <= 3);
    test_tmpdir_remove(straight);
    test_tmpdir_remove(killed);
}

/* SIGTERM: the notice, one emergency checkpoint of the current step, exit 75; a restart
 * resumes from it. */
static void
test_sigterm(void)
{
    g_autofree char *dir = test_tmpdir_new();
    const char *args[] = {"--steps", "100000", "--checkpoint-dir", dir, NULL};
    g_autoptr(TestWorkload) w = __train_start(args, NULL);
    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_FATAL(test_workload_wait_event(w, "step", 5, TIMEOUT) != NULL);
    test_workload_signal(w, SIGTERM);
    CU_ASSERT_EQUAL(test_workload_wait(w, TIMEOUT), 75);
    json_t *notice = __last(w, "notice");
    CU_ASSERT_FATAL(notice != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(notice, "source")), "sigterm");
    CU_ASSERT_EQUAL(__count(w, "checkpoint_start"), 1);
    json_t *end = __last(w, "checkpoint_end");
    CU_ASSERT_FATAL(end != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(end, "kind")), "emergency");
    CU_ASSERT(json_is_true(json_object_get(end, "ok")));
    json_t *exit_line = __last(w, "exit");
    CU_ASSERT_FATAL(exit_line != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(exit_line, "reason")), "notice");
    json_int_t step = json_integer_value(json_object_get(end, "step"));
    CU_ASSERT(step >= 5);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(exit_line, "step")), step);
    /* No step was lost: the checkpoint is of the last step reported. */
    json_t *last_step = __last(w, "step");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(last_step, "step")), step);
    g_autofree char *path = test_checkpoint_path(dir, (guint64)step);
    g_autoptr(WorkloadCheckpoint) ckpt = workload_checkpoint_load(path, NULL);
    CU_ASSERT(ckpt != NULL);

    const char *again[] = {"--steps", "100000", "--checkpoint-dir", dir, NULL};
    g_autoptr(TestWorkload) r = __train_start(again, NULL);
    CU_ASSERT_FATAL(r != NULL);
    json_t *resume = test_workload_wait_event(r, "resume", -1, TIMEOUT);
    CU_ASSERT_FATAL(resume != NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(resume, "step")), step);
    CU_ASSERT(test_workload_wait_event(r, "step", step + 1, TIMEOUT) != NULL);
    test_workload_signal(r, SIGTERM);
    CU_ASSERT_EQUAL(test_workload_wait(r, TIMEOUT), 75);
    test_tmpdir_remove(dir);
}

/* A notice while an asynchronous checkpoint is being written: that write is not started again,
 * and no step gets two checkpoints. */
static void
test_notice_during_async_checkpoint(void)
{
    g_autofree char *dir = test_tmpdir_new();
    const char *args[] = {"--steps", "100000",  "--checkpoint-dir", dir, "--checkpoint-every",
                          "1",       "--async", "--keep",           "2", NULL};
    g_autoptr(TestWorkload) w = __train_start(args, NULL);
    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_FATAL(test_workload_wait_event(w, "checkpoint_start", 10, TIMEOUT) != NULL);
    test_workload_signal(w, SIGTERM);
    CU_ASSERT_EQUAL(test_workload_wait(w, TIMEOUT), 75);
    GPtrArray *lines = test_workload_lines(w);
    g_autoptr(GHashTable) started = g_hash_table_new(g_int64_hash, g_int64_equal);
    g_autoptr(GArray) steps = g_array_new(FALSE, FALSE, sizeof(gint64));
    for (guint i = 0; i < lines->len; i++) {
        json_t *line = g_ptr_array_index(lines, i);
        if (g_strcmp0(json_string_value(json_object_get(line, "event")), "checkpoint_start") != 0)
            continue;
        gint64 s = json_integer_value(json_object_get(line, "step"));
        g_array_append_val(steps, s);
    }
    for (guint i = 0; i < steps->len; i++) {
        gint64 *s = &g_array_index(steps, gint64, i);
        CU_ASSERT_FALSE(g_hash_table_contains(started, s));
        g_hash_table_add(started, s);
    }
    CU_ASSERT_EQUAL(__count(w, "checkpoint_start"), __count(w, "checkpoint_end"));
    json_t *exit_line = __last(w, "exit");
    json_t *end = __last(w, "checkpoint_end");
    CU_ASSERT_FATAL(exit_line != NULL && end != NULL);
    CU_ASSERT(json_is_true(json_object_get(end, "ok")));
    CU_ASSERT(json_equal(json_object_get(end, "step"), json_object_get(exit_line, "step")));
    test_tmpdir_remove(dir);
}

/* A damaged newest checkpoint is skipped with a warning and the one before is used; naming
 * it explicitly is an error. */
static void
test_damaged_checkpoint(void)
{
    g_autofree char *dir = test_tmpdir_new();
    const char *args[] = {
        "--steps", "60", "--checkpoint-dir", dir, "--checkpoint-every", "20", "--hang-at",
        "40",      NULL};
    g_autoptr(TestWorkload) w = __train_start(args, NULL);
    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_FATAL(test_workload_wait_event(w, "checkpoint_end", 40, TIMEOUT) != NULL);
    test_workload_signal(w, SIGKILL);
    test_workload_wait(w, 60);

    g_autofree char *newest = test_checkpoint_path(dir, 40);
    int fd = open(newest, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    off_t size = lseek(fd, 0, SEEK_END);
    char byte = 0;
    CU_ASSERT(pread(fd, &byte, 1, size / 2) == 1);
    byte ^= 0x5a;
    CU_ASSERT(pwrite(fd, &byte, 1, size / 2) == 1);
    close(fd);

    const char *explicit[] = {"--resume", newest, "--checkpoint-dir", dir, NULL};
    g_autoptr(TestWorkload) e = NULL;
    CU_ASSERT_EQUAL(__train(explicit, NULL, &e), 2);

    const char *resume[] = {"--checkpoint-dir", dir, NULL};
    g_autoptr(TestWorkload) r = NULL;
    CU_ASSERT_EQUAL(__train(resume, NULL, &r), 0);
    json_t *line = __last(r, "resume");
    CU_ASSERT_FATAL(line != NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(line, "step")), 20);
    CU_ASSERT_EQUAL(__count(r, "step"), 40);
    test_tmpdir_remove(dir);
}

/* Bad usage: exit 2 and nothing written. */
static void
test_bad_usage(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *sub = g_build_filename(dir, "ck", NULL);
    const char *cases[][8] = {
        {"--preset", "huge", "--checkpoint-dir", sub, NULL},
        {"--set", "hidden=abc", "--checkpoint-dir", sub, NULL},
        {"--set", "hidden", "--checkpoint-dir", sub, NULL},
        {"--set", "colour=blue", "--checkpoint-dir", sub, NULL},
        {"--steps", "0", "--checkpoint-dir", sub, NULL},
        {"--device", "tpu", "--checkpoint-dir", sub, NULL},
        {"--notice-cloud", "oracle", "--checkpoint-dir", sub, NULL},
        {"--notice-poll", "soon", "--checkpoint-dir", sub, NULL},
        {"--resume", "/nonexistent/ckpt-000000000001.spck", "--checkpoint-dir", sub, NULL},
        {"stray", "--checkpoint-dir", sub, NULL},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(TestWorkload) w = NULL;
        int status = __train(cases[i], NULL, &w);
        if (status != 2)
            fprintf(stderr, "case %zu (%s %s): exit %d, expected 2\n", i, cases[i][0], cases[i][1],
                    status);
        CU_ASSERT_EQUAL(status, 2);
        CU_ASSERT_FALSE(g_file_test(sub, G_FILE_TEST_EXISTS));
    }
    /* A checkpoint folder made with another configuration is not silently mixed. */
    const char *first[] = {"--steps", "3", "--checkpoint-dir", sub, NULL};
    g_autoptr(TestWorkload) a = NULL;
    CU_ASSERT_EQUAL(__train(first, NULL, &a), 0);
    const char *other[] = {"--steps", "3", "--set", "hidden=64", "--checkpoint-dir", sub, NULL};
    g_autoptr(TestWorkload) b = NULL;
    CU_ASSERT_EQUAL(__train(other, NULL, &b), 2);
    /* A progress descriptor that is not open is bad input too. */
    const char *plain[] = {"--steps", "3", "--checkpoint-dir", sub, NULL};
    const char *env[] = {"SPOTLAB_PROGRESS_FD=57", NULL};
    g_autoptr(TestWorkload) c = NULL;
    CU_ASSERT_EQUAL(__train(plain, env, &c), 2);
    test_tmpdir_remove(dir);
}

/* The metadata service's notice: `spotlab imds` for each cloud, a notice on SIGUSR1; the
 * workload sees it through its watcher, saves and exits 75. */
static void
__metadata_notice(const char *cloud, const char *source)
{
    const char *bin = g_getenv("SPOTLAB_BIN");
    g_assert(bin != NULL);
    const char *imds_argv[] = {bin, "imds", "--cloud", cloud, NULL};
    GPid imds_pid = 0;
    int imds_out = -1;
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FATAL(g_spawn_async_with_pipes(NULL, (char **)imds_argv, NULL,
                                             G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &imds_pid, NULL,
                                             &imds_out, NULL, &error));
    /* Its first line names the variable and the endpoint. */
    char line[512] = "";
    gsize n = 0;
    while (n + 1 < sizeof line) {
        ssize_t r = read(imds_out, line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    CU_ASSERT_FATAL(strchr(line, '=') != NULL);

    g_autofree char *dir = test_tmpdir_new();
    const char *args[] = {
        "--steps", "100000", "--checkpoint-dir", dir, "--notice-cloud", cloud, "--notice-poll",
        "100ms",   NULL};
    const char *env[] = {line, NULL};
    g_autoptr(TestWorkload) w = __train_start(args, env);
    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT(test_workload_wait_event(w, "step", 3, TIMEOUT) != NULL);
    kill(imds_pid, SIGUSR1);
    CU_ASSERT_EQUAL(test_workload_wait(w, TIMEOUT), 75);
    json_t *notice = __last(w, "notice");
    CU_ASSERT_FATAL(notice != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(notice, "source")), source);
    json_t *end = __last(w, "checkpoint_end");
    CU_ASSERT_FATAL(end != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(end, "kind")), "emergency");
    CU_ASSERT(json_is_true(json_object_get(end, "ok")));

    kill(imds_pid, SIGTERM);
    int status = 0;
    waitpid(imds_pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(imds_out);
    g_spawn_close_pid(imds_pid);
    test_tmpdir_remove(dir);
}

static void
test_notice_aws(void)
{
    __metadata_notice("aws", "aws");
}

static void
test_notice_gcp(void)
{
    __metadata_notice("gcp", "gcp");
}

static void
test_notice_azure(void)
{
    __metadata_notice("azure", "azure");
}

int
main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("train", NULL, NULL);
    CU_add_test(s, "the loss falls; a final checkpoint", test_loss_falls);
    CU_add_test(s, "40 steps, kill -9, resume, 60 steps: bit-identical", test_resume_bit_identical);
    CU_add_test(s, "random kills with async checkpoints: bit-identical", test_random_kills_async);
    CU_add_test(s, "SIGTERM: emergency checkpoint, exit 75, resume", test_sigterm);
    CU_add_test(s, "notice during an async checkpoint: not written twice",
                test_notice_during_async_checkpoint);
    CU_add_test(s, "damaged newest checkpoint skipped", test_damaged_checkpoint);
    CU_add_test(s, "bad usage", test_bad_usage);
    CU_add_test(s, "AWS instance-action notice", test_notice_aws);
    CU_add_test(s, "Google preempted notice", test_notice_gcp);
    CU_add_test(s, "Azure Preempt event", test_notice_azure);
    return test_run_all();
}
