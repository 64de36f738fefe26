/* spotlab-infer: batch inference with the trained model over a durable work queue.
 *
 *   spotlab-infer init QUEUE.db --prompts N --seed S | --prompts-file FILE
 *   spotlab-infer work QUEUE.db --model CHECKPOINT [--worker ID] [--lease 30s] [--batch N] ...
 *   spotlab-infer status QUEUE.db [--json]
 *   spotlab-infer results QUEUE.db
 *
 * Any number of `work` processes share one queue (queue.h): each claims a batch of prompts
 * under a lease, generates text for them greedily with the model of a training checkpoint,
 * and completes each item, which records its result once. A worker killed with SIGKILL loses
 * only its leases, which expire and return the items to the queue; a worker that gets a
 * termination notice (SIGTERM, SIGINT or the cloud's metadata service, notice.h) gives its
 * unfinished items back at once and exits 75, as spotlab-train does. docs/inference.md describes it
 * all.
 *
 * Only this file prints and picks exit codes: 0 success, 75 (EX_TEMPFAIL) stopped by a notice
 * with the unfinished items back in the queue, 1 the work failed
 * (the queue or the model failed at run time), 2 bad usage or input. */
#include "checkpoint.h"
#include "corpus.h"
#include "model.h"
#include "interval.h"
#include "notice.h"
#include "progress.h"
#include "queue.h"
#include "train-config.h"

#include <jansson.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum {
    INFER_EXIT_OK = 0,
    INFER_EXIT_FAILED = 1,  /* the queue or the model failed while working */
    INFER_EXIT_USAGE = 2,   /* bad usage or input */
    INFER_EXIT_NOTICE = 75, /* stopped by a notice; the items are back in the queue */
};

/* How often a worker with nothing to claim looks again, at most, while other workers hold
 * leases (which may expire, or be completed). */
#define INFER_IDLE_POLL_US (G_USEC_PER_SEC / 2)

/* Notices are looked at this often while a worker waits. */
#define INFER_NOTICE_POLL_US (G_USEC_PER_SEC / 20)

static gboolean
__parse_options(const char *command, const char *usage, const char *summary, GOptionEntry *entries,
                int *argc, char ***argv)
{
    g_autofree char *prgname = g_strdup_printf("spotlab-infer %s", command);
    g_set_prgname(prgname);
    g_autoptr(GOptionContext) ctx = g_option_context_new(usage);
    g_option_context_set_summary(ctx, summary);
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        fprintf(stderr, "spotlab-infer %s: %s\nRun 'spotlab-infer %s --help' for the options.\n",
                command, error->message, command);
        return FALSE;
    }
    return TRUE;
}

/* Exactly one QUEUE.db argument after the options. */
static const char *
__queue_arg(const char *command, int argc, char **argv)
{
    if (argc == 2)
        return argv[1];
    fprintf(stderr,
            "spotlab-infer %s: expected one QUEUE.db argument, got %d\n"
            "Run 'spotlab-infer %s --help' for the usage.\n",
            command, argc - 1, command);
    return NULL;
}

/* ---- init ---- */

/* Prompts from the corpus generator: @n windows of @context characters at starts drawn from
 * @seed, so the same arguments always make the same queue. */
static GPtrArray *
__corpus_prompts(guint n, guint context, guint64 seed)
{
    gsize length = MAX((gsize)64 * 1024, (gsize)n * context);
    g_autofree guint8 *text = train_corpus_generate(seed, length);
    SimRng rng;
    sim_rng_init(&rng, seed);
    GPtrArray *prompts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < n; i++) {
        guint64 start = sim_rng_below(&rng, length - context);
        g_ptr_array_add(prompts, train_corpus_decode(text + start, context));
    }
    return prompts;
}

/* Prompts from a file, one a line; the id of an item is its line number, and empty lines
 * make no item. Characters outside the model's alphabet are refused here rather than in a
 * worker, with the file, line and column. */
static gboolean
__file_prompts(const char *path, GArray *ids, GPtrArray *prompts, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, error))
        return FALSE;
    g_autoptr(GError) local = NULL;
    gsize n_ids = 0;
    g_autofree guint8 *checked = train_corpus_encode(text, (gssize)len, &n_ids, &local);
    if (checked == NULL) {
        /* The corpus names the place as "text:LINE:COLUMN: ..."; name the file instead. */
        const char *msg = local->message;
        if (g_str_has_prefix(msg, "text:"))
            msg += strlen("text:");
        g_set_error(error, local->domain, local->code, "%s:%s", path, msg);
        return FALSE;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (gint64 i = 0; lines[i] != NULL; i++) {
        if (lines[i][0] == '\0')
            continue;
        gint64 id = i + 1;
        g_array_append_val(ids, id);
        g_ptr_array_add(prompts, g_strdup(lines[i]));
    }
    if (prompts->len == 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: no prompts (every line is empty)",
                    path);
        return FALSE;
    }
    return TRUE;
}

static int
__cmd_init(int argc, char **argv)
{
    gint prompts = 0, context = 0;
    gint64 seed = 1;
    g_autofree char *file = NULL;
    GOptionEntry entries[] = {
        {"prompts", 'n', 0, G_OPTION_ARG_INT, &prompts,
         "Fill the queue with N prompts taken from the corpus generator", "N"},
        {"seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed of the corpus prompts (default 1)", "S"},
        {"context", 'c', 0, G_OPTION_ARG_INT, &context,
         "Characters per corpus prompt (default: the context of the tiny preset)", "C"},
        {"prompts-file", 'f', 0, G_OPTION_ARG_FILENAME, &file,
         "Take the prompts from FILE, one a line (the item id is the line number)", "FILE"},
        {NULL},
    };
    if (!__parse_options("init", "QUEUE.db",
                         "Create the queue QUEUE.db (it must not exist) and fill it with prompts: "
                         "--prompts N windows of the corpus generator, or the lines of "
                         "--prompts-file.",
                         entries, &argc, &argv))
        return INFER_EXIT_USAGE;
    const char *path = __queue_arg("init", argc, argv);
    if (path == NULL)
        return INFER_EXIT_USAGE;
    if ((prompts > 0) == (file != NULL) || prompts < 0) {
        fprintf(stderr, "spotlab-infer init: give either --prompts N (N >= 1) or "
                        "--prompts-file FILE\n");
        return INFER_EXIT_USAGE;
    }
    TrainConfig tiny;
    if (train_config_preset("tiny", &tiny) != 0)
        g_assert_not_reached();
    if (context < 0 || context > 1 << 20) {
        fprintf(stderr, "spotlab-infer init: --context: expected 1 to 1048576, got %d\n", context);
        return INFER_EXIT_USAGE;
    }
    guint width = context > 0 ? (guint)context : tiny.context;

    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GPtrArray) texts = NULL;
    g_autoptr(GError) error = NULL;
    if (file != NULL) {
        texts = g_ptr_array_new_with_free_func(g_free);
        if (!__file_prompts(file, ids, texts, &error)) {
            fprintf(stderr, "spotlab-infer init: %s\n", error->message);
            return INFER_EXIT_USAGE;
        }
    } else {
        texts = __corpus_prompts((guint)prompts, width, (guint64)seed);
        for (gint64 id = 1; id <= prompts; id++)
            g_array_append_val(ids, id);
    }
    g_autoptr(InferQueue) queue = infer_queue_create(path, &error);
    if (queue == NULL) {
        fprintf(stderr, "spotlab-infer init: %s\n", error->message);
        return INFER_EXIT_USAGE;
    }
    if (!infer_queue_add(queue, (const gint64 *)ids->data, (const char *const *)texts->pdata,
                         ids->len, &error)) {
        fprintf(stderr, "spotlab-infer init: %s\n", error->message);
        return INFER_EXIT_FAILED;
    }
    printf("%s: %u items\n", path, ids->len);
    return INFER_EXIT_OK;
}

/* ---- work ---- */

typedef struct {
    InferQueue *queue;
    const char *worker;
    gint64 lease_us;
    guint batch;
    guint tokens;
    TrainConfig cfg;
    const TrainBackend *backend;
    TrainModel *model;
    WorkloadProgress *progress;
    WorkloadNoticeWatcher *watcher;
    gboolean noticed;
    WorkloadNotice notice;
    guint64 done;     /* items this worker completed */
    guint64 refused;  /* completions refused: the lease was lost */
    guint64 released; /* items given back after a notice */
    guint64 tokens_made;
    gboolean warned_slow; /* said once that the lease is too short for a token step */
} Worker;

/* Whether a termination notice arrived; reports it on the progress channel the first time. */
static gboolean
__noticed(Worker *w)
{
    if (w->noticed)
        return TRUE;
    if (!workload_notice_pending(w->watcher, &w->notice))
        return FALSE;
    w->noticed = TRUE;
    workload_progress_notice(w->progress, w->notice.source, w->notice.detail, w->notice.deadline);
    fprintf(stderr, "spotlab-infer work: %s: notice (%s): giving the unfinished items back\n",
            w->worker, w->notice.source);
    return TRUE;
}

/* The last @context tokens of @prompt, left-padded with spaces (token 0) when it is shorter.
 * init checks the prompts, so a bad one comes from a queue filled by other means: the worker
 * stops with an error rather than skip it, since every worker would fail on it again. */
static gboolean
__encode_prompt(const Worker *w, const InferItem *item, guint8 *window, GError **error)
{
    gsize n = 0;
    g_autoptr(GError) local = NULL;
    g_autofree guint8 *ids = train_corpus_encode(item->payload, -1, &n, &local);
    if (ids == NULL) {
        g_set_error(error, local->domain, local->code, "%s: item %" G_GINT64_FORMAT ": %s",
                    infer_queue_path(w->queue), item->id, local->message);
        return FALSE;
    }
    guint ctx = w->cfg.context;
    gsize take = MIN(n, (gsize)ctx);
    memset(window, 0, ctx - take);
    memcpy(window + (ctx - take), ids + (n - take), take);
    return TRUE;
}

/* The index of the largest logit; ties go to the lowest id, so generation is deterministic. */
static guint8
__argmax(const float *logits, guint vocab)
{
    guint best = 0;
    for (guint v = 1; v < vocab; v++)
        if (logits[v] > logits[best])
            best = v;
    return (guint8)best;
}

/* Gives the leases of @items back after a failure, so that other workers need not wait for
 * them to expire; a failure here changes nothing (the leases expire then). */
static void
__give_back(Worker *w, GPtrArray *items)
{
    g_autoptr(GError) error = NULL;
    gint given = infer_queue_release(w->queue, w->worker, items, &error);
    if (given > 0)
        w->released += (guint64)given;
}

/* The generation of one batch: K greedy tokens for every prompt of @items into @out (K per
 * prompt). Leases are renewed between tokens every third of the lease; a notice between
 * tokens stops it (*stopped). */
static gboolean
__generate(Worker *w, GPtrArray *items, guint8 *out, gboolean *stopped, GError **error)
{
    const guint n = items->len, ctx = w->cfg.context, vocab = w->cfg.vocab;
    g_autofree guint8 *windows = g_malloc0((gsize)n * ctx);
    g_autofree float *logits = g_malloc((gsize)n * vocab * sizeof(float));
    for (guint i = 0; i < n; i++)
        if (!__encode_prompt(w, items->pdata[i], windows + (gsize)i * ctx, error))
            return FALSE;
    gint64 renewed = g_get_real_time();
    for (guint t = 0; t < w->tokens; t++) {
        if (__noticed(w)) {
            *stopped = TRUE;
            return TRUE;
        }
        gint64 now = g_get_real_time();
        if (now - renewed >= w->lease_us / 3) {
            gint held = infer_queue_renew(w->queue, w->worker, items, w->lease_us, now, error);
            if (held < 0)
                return FALSE;
            if (held == 0)
                return TRUE; /* every lease was lost: nothing of this batch can be recorded */
            if (now - renewed > w->lease_us && !w->warned_slow) {
                /* Leases are renewed between tokens only: one token took longer than a lease. */
                fprintf(stderr,
                        "spotlab-infer work: %s: %.1f s between two lease renewals, longer than "
                        "the lease (%.1f s): other workers may take these items; use a longer "
                        "--lease\n",
                        w->worker, (double)(now - renewed) / 1e6, (double)w->lease_us / 1e6);
                w->warned_slow = TRUE;
            }
            renewed = now;
        }
        char err[256] = "";
        if (w->backend->predict(w->model, windows, n, logits, err, sizeof err) != 0) {
            g_set_error(error, g_quark_from_static_string("spotlab-infer-model"), 0,
                        "model (%s): predict: %s", w->backend->name, err);
            return FALSE;
        }
        for (guint i = 0; i < n; i++) {
            guint8 next = __argmax(logits + (gsize)i * vocab, vocab);
            out[(gsize)i * w->tokens + t] = next;
            guint8 *win = windows + (gsize)i * ctx;
            memmove(win, win + 1, ctx - 1);
            win[ctx - 1] = next;
        }
        w->tokens_made += n;
    }
    return TRUE;
}

/* Processes one claimed batch: generates, then completes its items. A notice during the
 * generation gives the whole batch back at once (*stopped); once generated, the results are
 * recorded even when a notice came meanwhile, which takes milliseconds. Returns FALSE with
 * @error when the queue or the model failed (the batch is given back). */
static gboolean
__run_batch(Worker *w, GPtrArray *items, gboolean *stopped, GError **error)
{
    g_autofree guint8 *out = g_malloc0((gsize)items->len * w->tokens);
    if (!__generate(w, items, out, stopped, error)) {
        __give_back(w, items);
        return FALSE;
    }
    if (*stopped) {
        gint given = infer_queue_release(w->queue, w->worker, items, error);
        if (given < 0)
            return FALSE;
        w->released += (guint64)given;
        return TRUE;
    }
    /* One transaction for the batch: one fsync rather than one per item. */
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < items->len; i++)
        g_ptr_array_add(texts, train_corpus_decode(out + (gsize)i * w->tokens, w->tokens));
    if (infer_queue_complete_batch(w->queue, w->worker, items, (const char *const *)texts->pdata,
                                   g_get_real_time(), error) < 0) {
        __give_back(w, items);
        return FALSE;
    }
    for (guint i = 0; i < items->len; i++) {
        const InferItem *item = items->pdata[i];
        if (item->lost) {
            /* Another worker has the item now: its result, not ours, is the one recorded. */
            w->refused++;
            fprintf(stderr,
                    "spotlab-infer work: %s: item %" G_GINT64_FORMAT
                    ": the lease was lost (expired and claimed again); result not recorded\n",
                    w->worker, item->id);
            continue;
        }
        w->done++;
        workload_progress_item(w->progress, (guint64)item->id, w->done);
    }
    return TRUE;
}

/* Waits for up to @us, looking at notices; returns TRUE when one arrived. */
static gboolean
__idle(Worker *w, gint64 us)
{
    gint64 until = g_get_monotonic_time() + us;
    while (g_get_monotonic_time() < until) {
        if (__noticed(w))
            return TRUE;
        g_usleep((gulong)MIN(INFER_NOTICE_POLL_US, MAX(until - g_get_monotonic_time(), 1)));
    }
    return __noticed(w);
}

/* Claims and processes batches until nothing is left to do or a notice arrives. Items leased
 * to other workers may come back (their worker died), so the worker waits while any lease
 * runs and stops only when every item is done. */
static gboolean
__work_loop(Worker *w, GError **error)
{
    while (!__noticed(w)) {
        gint64 now = g_get_real_time();
        g_autoptr(GPtrArray) items =
            infer_queue_claim(w->queue, w->worker, w->batch, w->lease_us, now, error);
        if (items == NULL)
            return FALSE;
        if (items->len == 0) {
            g_auto(InferQueueCounts) c = {0};
            if (!infer_queue_counts(w->queue, now, &c, error))
                return FALSE;
            if (c.pending + c.leased + c.expired == 0)
                return TRUE;
            gint64 wait = INFER_IDLE_POLL_US;
            if (c.next_deadline > now)
                wait = MIN(wait, c.next_deadline - now + 1000);
            __idle(w, wait);
            continue;
        }
        gboolean stopped = FALSE;
        if (!__run_batch(w, items, &stopped, error))
            return FALSE;
        if (stopped)
            break;
    }
    return TRUE;
}

/* Loads the newest complete checkpoint of @path (a folder) or the checkpoint @path (a file),
 * and reads its config and parameters. */
static gboolean
__load_model(const char *path, TrainConfig *cfg, float **params, GError **error)
{
    g_autoptr(WorkloadCheckpoint) ckpt = NULL;
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_autoptr(GPtrArray) rejected = g_ptr_array_new_with_free_func(g_free);
        ckpt = workload_checkpoint_load_latest(path, rejected, error);
        for (guint i = 0; i < rejected->len; i++)
            fprintf(stderr, "spotlab-infer work: skipped %s\n", (char *)rejected->pdata[i]);
    } else {
        ckpt = workload_checkpoint_load(path, error);
    }
    if (ckpt == NULL)
        return FALSE;
    guint64 size = 0;
    const char *json = workload_checkpoint_section(ckpt, "config", G_MAXUINT64, &size, error);
    if (json == NULL)
        return FALSE;
    if (!train_config_from_json(json, (gssize)size, cfg, error)) {
        g_prefix_error(error, "%s: section \"config\": ", workload_checkpoint_path(ckpt));
        return FALSE;
    }
    guint64 count = train_param_count(cfg);
    const void *data =
        workload_checkpoint_section(ckpt, "params", count * sizeof(float), &size, error);
    if (data == NULL)
        return FALSE;
    /* A copy: the section need not be aligned for floats. */
    *params = g_memdup2(data, count * sizeof(float));
    return TRUE;
}

static int
__cmd_work(int argc, char **argv)
{
    g_autofree char *model_path = NULL, *worker_opt = NULL, *lease_text = NULL, *device = NULL;
    g_autofree char *cloud_text = NULL, *poll_text = NULL, *endpoint = NULL;
    gint batch = 8, tokens = 32;
    GOptionEntry entries[] = {
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
         "A checkpoint file, or a folder whose newest complete checkpoint is used (required)",
         "PATH"},
        {"worker", 'w', 0, G_OPTION_ARG_STRING, &worker_opt,
         "This worker's id, unique among the workers (default: HOST-PID)", "ID"},
        {"lease", 'l', 0, G_OPTION_ARG_STRING, &lease_text,
         "Lease duration: an item not completed or renewed in that time goes back to the queue "
         "(default 30s)",
         "DURATION"},
        {"batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Items claimed and generated together (8)",
         "N"},
        {"tokens", 'k', 0, G_OPTION_ARG_INT, &tokens, "Tokens generated per prompt (32)", "K"},
        {"device", 0, 0, G_OPTION_ARG_STRING, &device,
         "cpu (the reference path) or cuda (default: cuda in spotlab-infer-cuda)", "DEV"},
        {"notice-cloud", 0, 0, G_OPTION_ARG_STRING, &cloud_text,
         "Watch this cloud's metadata service for a termination notice: none, aws, gcp, azure "
         "(default none: signals only)",
         "CLOUD"},
        {"notice-poll", 0, 0, G_OPTION_ARG_STRING, &poll_text,
         "How often to poll the metadata service (default 5s)", "DURATION"},
        {"notice-endpoint", 0, 0, G_OPTION_ARG_STRING, &endpoint,
         "The metadata service's URL (default: from the environment, else the cloud's)", "URL"},
        {NULL},
    };
    if (!__parse_options(
            "work", "QUEUE.db",
            "Process the queue's items with the model of a training checkpoint until every item "
            "is done: claim a batch under a lease, generate --tokens characters for each "
            "prompt greedily, record each result. On SIGTERM, SIGINT or a cloud's termination "
            "notice the unfinished items go back to the queue at once and the worker exits 75. "
            "Progress is reported as JSON lines on the descriptor SPOTLAB_PROGRESS_FD names.",
            entries, &argc, &argv))
        return INFER_EXIT_USAGE;
    const char *path = __queue_arg("work", argc, argv);
    if (path == NULL)
        return INFER_EXIT_USAGE;
    Worker w = {0};
    w.lease_us = 30 * G_USEC_PER_SEC;
    if (model_path == NULL) {
        fprintf(stderr, "spotlab-infer work: --model is required (a checkpoint file or folder)\n");
        return INFER_EXIT_USAGE;
    }
    if (lease_text != NULL && !workload_parse_interval(lease_text, &w.lease_us)) {
        fprintf(stderr,
                "spotlab-infer work: --lease: expected a duration like \"30s\", got \"%s\"\n",
                lease_text);
        return INFER_EXIT_USAGE;
    }
    if (batch < 1 || batch > 65536 || tokens < 1 || tokens > 1 << 20) {
        fprintf(stderr, "spotlab-infer work: --%s: expected %s, got %d\n",
                batch < 1 || batch > 65536 ? "batch" : "tokens",
                batch < 1 || batch > 65536 ? "1 to 65536" : "1 to 1048576",
                batch < 1 || batch > 65536 ? batch : tokens);
        return INFER_EXIT_USAGE;
    }
    w.batch = (guint)batch;
    w.tokens = (guint)tokens;
    WorkloadNoticeConfig notice_cfg = {.cloud = WORKLOAD_CLOUD_NONE, .endpoint = endpoint};
    if (cloud_text != NULL && !workload_cloud_parse(cloud_text, &notice_cfg.cloud)) {
        fprintf(stderr,
                "spotlab-infer work: --notice-cloud: expected none, aws, gcp or azure, got "
                "\"%s\"\n",
                cloud_text);
        return INFER_EXIT_USAGE;
    }
    if (poll_text != NULL && !workload_parse_interval(poll_text, &notice_cfg.poll_interval_us)) {
        fprintf(stderr,
                "spotlab-infer work: --notice-poll: expected a duration like \"5s\", got "
                "\"%s\"\n",
                poll_text);
        return INFER_EXIT_USAGE;
    }
    if (device == NULL) {
        w.backend = train_backend_cuda() != NULL ? train_backend_cuda() : &train_backend_cpu;
    } else if (strcmp(device, "cpu") == 0) {
        w.backend = &train_backend_cpu;
    } else if (strcmp(device, "cuda") == 0) {
        w.backend = train_backend_cuda();
        if (w.backend == NULL) {
            fprintf(stderr, "spotlab-infer work: --device cuda: this program was built without "
                            "CUDA (use spotlab-infer-cuda)\n");
            return INFER_EXIT_USAGE;
        }
    } else {
        fprintf(stderr, "spotlab-infer work: --device: expected cpu or cuda, got \"%s\"\n", device);
        return INFER_EXIT_USAGE;
    }
    g_autofree char *worker_default = g_strdup_printf("%s-%ld", g_get_host_name(), (long)getpid());
    w.worker = worker_opt != NULL ? worker_opt : worker_default;
    if (*w.worker == '\0') {
        fprintf(stderr, "spotlab-infer work: --worker: expected a non-empty id\n");
        return INFER_EXIT_USAGE;
    }

    /* Signals first: a SIGTERM during the loading is a notice like any other. */
    workload_notice_install_signal_handlers();
    g_autoptr(GError) error = NULL;
    g_autoptr(WorkloadProgress) progress = workload_progress_open("infer", &error);
    if (progress == NULL) {
        fprintf(stderr, "spotlab-infer work: %s\n", error->message);
        return INFER_EXIT_USAGE;
    }
    w.progress = progress;
    g_autoptr(InferQueue) queue = infer_queue_open(path, &error);
    if (queue == NULL) {
        fprintf(stderr, "spotlab-infer work: %s\n", error->message);
        workload_progress_exit(progress, "error", 0, INFER_EXIT_USAGE);
        return INFER_EXIT_USAGE;
    }
    w.queue = queue;
    g_autofree float *params = NULL;
    if (!__load_model(model_path, &w.cfg, &params, &error)) {
        /* Checkpoint errors name the file already. */
        fprintf(stderr, "spotlab-infer work: --model: %s\n", error->message);
        workload_progress_exit(progress, "error", 0, INFER_EXIT_USAGE);
        return INFER_EXIT_USAGE;
    }
    char err[256] = "";
    w.model = w.backend->create(&w.cfg, params, err, sizeof err);
    if (w.model == NULL) {
        fprintf(stderr, "spotlab-infer work: %s: cannot create the model on %s: %s\n", model_path,
                w.backend->name, err);
        workload_progress_exit(progress, "error", 0, INFER_EXIT_FAILED);
        return INFER_EXIT_FAILED;
    }
    g_autoptr(WorkloadNoticeWatcher) watcher =
        workload_notice_watcher_new(&notice_cfg, NULL, NULL, &error);
    if (watcher == NULL) {
        fprintf(stderr, "spotlab-infer work: notices: %s\n", error->message);
        w.backend->destroy(w.model);
        workload_progress_exit(progress, "error", 0, INFER_EXIT_USAGE);
        return INFER_EXIT_USAGE;
    }
    w.watcher = watcher;
    g_auto(InferQueueCounts) before = {0};
    if (infer_queue_counts(queue, g_get_real_time(), &before, NULL))
        workload_progress_start(progress, w.cfg.name, before.items, train_param_count(&w.cfg), 0);

    gint64 started = g_get_monotonic_time();
    gboolean ok = __work_loop(&w, &error);
    double seconds = (double)(g_get_monotonic_time() - started) / 1e6;
    w.backend->destroy(w.model);
    int status = !ok ? INFER_EXIT_FAILED : w.noticed ? INFER_EXIT_NOTICE : INFER_EXIT_OK;
    const char *reason = !ok ? "error" : w.noticed ? "notice" : "completed";
    if (!ok)
        fprintf(stderr, "spotlab-infer work: %s: %s\n", w.worker, error->message);
    if (w.noticed) {
        g_autoptr(GError) ack = NULL;
        if (!workload_notice_acknowledge(watcher, &ack))
            fprintf(stderr, "spotlab-infer work: acknowledging the notice: %s\n", ack->message);
    }
    fprintf(stderr,
            "spotlab-infer work: %s: %s: %" G_GUINT64_FORMAT " items done in %.2f s (%.1f items/s, "
            "%.0f tokens/s), %" G_GUINT64_FORMAT " refused (lease lost), %" G_GUINT64_FORMAT
            " given back\n",
            w.worker, reason, w.done, seconds, seconds > 0 ? (double)w.done / seconds : 0.0,
            seconds > 0 ? (double)w.tokens_made / seconds : 0.0, w.refused, w.released);
    workload_progress_exit(progress, reason, w.done, status);
    workload_notice_clear(&w.notice);
    return status;
}

/* ---- status, results ---- */

static int
__cmd_status(int argc, char **argv)
{
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print the counts as a JSON object", NULL},
        {NULL},
    };
    if (!__parse_options("status", "QUEUE.db",
                         "Count the queue's items: pending, leased (lease running), expired "
                         "(claimable again), done; and how many times items were claimed.",
                         entries, &argc, &argv))
        return INFER_EXIT_USAGE;
    const char *path = __queue_arg("status", argc, argv);
    if (path == NULL)
        return INFER_EXIT_USAGE;
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) queue = infer_queue_open(path, &error);
    if (queue == NULL) {
        fprintf(stderr, "spotlab-infer status: %s\n", error->message);
        return INFER_EXIT_USAGE;
    }
    gint64 now = g_get_real_time();
    g_auto(InferQueueCounts) c = {0};
    if (!infer_queue_counts(queue, now, &c, &error)) {
        fprintf(stderr, "spotlab-infer status: %s\n", error->message);
        return INFER_EXIT_FAILED;
    }
    if (json) {
        json_t *hist = json_array();
        for (guint k = 0; k < c.attempts->len; k++)
            json_array_append_new(hist,
                                  json_integer((json_int_t)g_array_index(c.attempts, guint64, k)));
        json_t *obj = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "queue", path,
                                "items", (json_int_t)c.items, "pending", (json_int_t)c.pending,
                                "leased", (json_int_t)c.leased, "expired", (json_int_t)c.expired,
                                "done", (json_int_t)c.done, "results", (json_int_t)c.results,
                                "claims", (json_int_t)c.claims, "attempts", hist);
        g_autofree char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(obj);
        printf("%s\n", text);
        return INFER_EXIT_OK;
    }
    printf("%s: %" G_GUINT64_FORMAT " items: %" G_GUINT64_FORMAT " done, %" G_GUINT64_FORMAT
           " leased, %" G_GUINT64_FORMAT " expired, %" G_GUINT64_FORMAT " pending\n",
           path, c.items, c.done, c.leased, c.expired, c.pending);
    printf("results: %" G_GUINT64_FORMAT "\n", c.results);
    printf("claims: %" G_GUINT64_FORMAT " in all; items claimed k times:", c.claims);
    for (guint k = 0; k < c.attempts->len; k++)
        if (g_array_index(c.attempts, guint64, k) > 0)
            printf(" %u: %" G_GUINT64_FORMAT, k, g_array_index(c.attempts, guint64, k));
    printf("\n");
    if (c.next_deadline > 0)
        printf("next lease deadline: in %.1f s\n", (double)(c.next_deadline - now) / 1e6);
    return INFER_EXIT_OK;
}

/* One "id<TAB>result" line; a result's tab, newline and backslash are written \t, \n, \\ so
 * that a line is one result. */
static gboolean
__print_result(const InferResult *r, gpointer user_data)
{
    GString *line = user_data;
    g_string_printf(line, "%" G_GINT64_FORMAT "\t", r->id);
    for (const char *p = r->result; *p != '\0'; p++) {
        if (*p == '\n')
            g_string_append(line, "\\n");
        else if (*p == '\t')
            g_string_append(line, "\\t");
        else if (*p == '\\')
            g_string_append(line, "\\\\");
        else
            g_string_append_c(line, *p);
    }
    g_string_append_c(line, '\n');
    fputs(line->str, stdout);
    return TRUE;
}

static int
__cmd_results(int argc, char **argv)
{
    GOptionEntry entries[] = {{NULL}};
    if (!__parse_options("results", "QUEUE.db",
                         "Print the recorded results as id<TAB>result lines in id order (tab, "
                         "newline and backslash in a result written as \\t, \\n, \\\\), for "
                         "comparing two runs.",
                         entries, &argc, &argv))
        return INFER_EXIT_USAGE;
    const char *path = __queue_arg("results", argc, argv);
    if (path == NULL)
        return INFER_EXIT_USAGE;
    g_autoptr(GError) error = NULL;
    g_autoptr(InferQueue) queue = infer_queue_open(path, &error);
    if (queue == NULL) {
        fprintf(stderr, "spotlab-infer results: %s\n", error->message);
        return INFER_EXIT_USAGE;
    }
    g_autoptr(GString) line = g_string_new(NULL);
    if (!infer_queue_foreach_result(queue, __print_result, line, &error)) {
        fprintf(stderr, "spotlab-infer results: %s\n", error->message);
        return INFER_EXIT_FAILED;
    }
    return INFER_EXIT_OK;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"init", __cmd_init, "create a queue and fill it with prompts"},
    {"work", __cmd_work, "process the queue's items with a trained model"},
    {"status", __cmd_status, "count pending, leased and done items"},
    {"results", __cmd_results, "print the results as id<TAB>result lines"},
};

static void
__usage(FILE *out)
{
    fprintf(out, "Usage: spotlab-infer COMMAND [OPTION...] QUEUE.db\n\n"
                 "Batch inference over a durable work queue that survives its workers.\n\n"
                 "Commands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'spotlab-infer COMMAND --help' for a command's options.\n"
                 "Exit status: 0 success (a termination notice included), 1 the work failed, "
                 "2 bad input or usage.\n");
}

int
main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    /* A progress reader that went away must not kill the worker (progress.h). */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        __usage(stderr);
        return INFER_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        __usage(stdout);
        return INFER_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("spotlab-infer %s\n", SPOTLAB_VERSION);
        return INFER_EXIT_OK;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "spotlab-infer: unknown command '%s'\n\n", argv[1]);
    __usage(stderr);
    return INFER_EXIT_USAGE;
}
