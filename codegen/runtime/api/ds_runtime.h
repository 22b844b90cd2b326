/*===- ds_runtime.h - C API of a compiled ds-optimize artifact ------------===
 *
 * The stable boundary of lib/libds_model.so (DESIGN §4 "Runtime API in C"):
 * applications, the artifact's own runner (bin/ds-model-run) and language
 * bindings call only these functions. The library exports nothing else, so it
 * can be dlopen'ed into a process that has its own copy of the kernel library.
 *
 * Errors: every fallible function returns a ds_status; on failure the reason
 * is one line from ds_last_error(), thread-local, naming the file or input and
 * what to do. No C++ exception ever crosses this boundary.
 *
 * Ownership: a function that hands out a handle (`**out`) transfers it to the
 * caller, who releases it with the matching _release function. Pointers the
 * library returns inside structs stay valid as long as the handle they came
 * from. Caller memory passed in is borrowed for the duration of the call only.
 *
 *===----------------------------------------------------------------------===*/
#ifndef DS_RUNTIME_H
#define DS_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The manifest versions this runtime reads (manifest.json "version"). */
#define DS_ARTIFACT_FORMAT_VERSION 1

typedef enum ds_status {
  DS_OK = 0,
  DS_ERROR_INVALID_ARGUMENT = 1, /* a NULL/bad argument, or inputs that do not fit the model */
  DS_ERROR_IO = 2,               /* a file or directory is missing or unreadable */
  DS_ERROR_CORRUPT = 3,          /* the artifact is malformed, tampered with, or inconsistent */
  DS_ERROR_VERSION = 4,          /* the artifact's format version is not one this runtime reads */
  DS_ERROR_RUNTIME = 5,          /* a kernel failed while running */
  DS_ERROR_OUT_OF_MEMORY = 6,
} ds_status;

/* Element types, numbered as ONNX's TensorProto.DataType (and rt::DType). */
typedef enum ds_dtype {
  DS_DTYPE_UNDEFINED = 0,
  DS_DTYPE_FLOAT = 1,
  DS_DTYPE_UINT8 = 2,
  DS_DTYPE_INT8 = 3,
  DS_DTYPE_UINT16 = 4,
  DS_DTYPE_INT16 = 5,
  DS_DTYPE_INT32 = 6,
  DS_DTYPE_INT64 = 7,
  DS_DTYPE_BOOL = 9,
  DS_DTYPE_FLOAT16 = 10,
  DS_DTYPE_DOUBLE = 11,
  DS_DTYPE_UINT32 = 12,
  DS_DTYPE_UINT64 = 13,
  DS_DTYPE_BFLOAT16 = 16,
} ds_dtype;

/* The message of the last failed ds_* call on this thread ("" if none).
 * Valid until the next failing ds_* call on the same thread. Thread-safe. */
const char *ds_last_error(void);
/* "DS_OK", "DS_ERROR_IO", ...; static storage. Thread-safe. */
const char *ds_status_name(ds_status status);
/* "float", "int64", ... as the manifest spells dtypes; "unknown" for others.
 * Static storage. Thread-safe. */
const char *ds_dtype_name(int32_t dtype);
/* Bytes per element; 0 for unknown dtypes. Thread-safe. */
size_t ds_dtype_size(int32_t dtype);

/* A dense row-major tensor description. For inputs every pointer is the
 * caller's and is only read during the call; byte_size must equal the element
 * count times ds_dtype_size(dtype) and data may be NULL only when it is 0. */
typedef struct ds_tensor {
  int32_t dtype;       /* a ds_dtype */
  size_t rank;
  const int64_t *dims; /* rank entries; NULL allowed when rank is 0 */
  const void *data;
  size_t byte_size;
} ds_tensor;

/* The declared type of a model input or output; dims[i] is -1 where dynamic. */
typedef struct ds_value_info {
  const char *name;
  int32_t dtype;
  size_t rank;
  const int64_t *dims;
} ds_value_info;

typedef struct ds_model_options {
  /* Worker threads for kernels; 0 = one per hardware thread. Results are the
   * same bits for every value. */
  int32_t num_threads;
} ds_model_options;

typedef struct ds_model ds_model;     /* an opened artifact */
typedef struct ds_tensors ds_tensors; /* the outputs of one run */

/* Fills `options` with the defaults (what NULL options mean). */
void ds_model_options_init(ds_model_options *options);

/* Opens the artifact in `artifact_dir` (the directory holding manifest.json):
 * validates the manifest schema, checks weights.bin's size and SHA-256 against
 * it before any weight is used, checks that the manifest belongs to the graph
 * this library was compiled from, then builds the model. `options` may be NULL.
 * On success `*out` owns the model (release with ds_model_release); on failure
 * `*out` is set to NULL. Thread-safe (opens of different models may run
 * concurrently). */
ds_status ds_model_open(const char *artifact_dir, const ds_model_options *options,
                        ds_model **out);

/* Releases a model (NULL is a no-op). Outputs of earlier runs stay valid.
 * Must not race with other calls on the same model. */
void ds_model_release(ds_model *model);

/* Introspection. The counts return 0 for a NULL model. The info's pointers are
 * owned by the model and valid until ds_model_release. Thread-safe. */
size_t ds_model_num_inputs(const ds_model *model);
size_t ds_model_num_outputs(const ds_model *model);
ds_status ds_model_input_info(const ds_model *model, size_t index, ds_value_info *out);
ds_status ds_model_output_info(const ds_model *model, size_t index, ds_value_info *out);

/* Runs the model on `inputs` (num_inputs of them, in ds_model_input_info
 * order). Inputs are borrowed, not copied, during the call; nothing refers to
 * them afterwards (an output that would alias an input is copied). Each input
 * must match its declared dtype and shape (DS_ERROR_INVALID_ARGUMENT with a
 * message naming the input otherwise). On success `*outputs` owns the results
 * (release with ds_tensors_release); on failure it is set to NULL.
 * Thread-safe: concurrent runs on one model are serialized; use one model per
 * thread for parallel runs. */
ds_status ds_model_run(ds_model *model, const ds_tensor *inputs, size_t num_inputs,
                       ds_tensors **outputs);

/* The results of one run, in ds_model_output_info order. ds_tensors_get
 * returns NULL for an index out of range; the ds_tensor and its data stay
 * valid until ds_tensors_release (even after ds_model_release). Read-only
 * functions are thread-safe. */
size_t ds_tensors_count(const ds_tensors *tensors);
const ds_tensor *ds_tensors_get(const ds_tensors *tensors, size_t index);
/* Releases the results (NULL is a no-op). */
void ds_tensors_release(ds_tensors *tensors);

/* ---- Generation (decoder LMs) --------------------------------------------
 * For an artifact of a decoder graph (a decoder-with-past graph as Optimum or
 * onnxruntime-genai export it, or a graph without a KV cache): the runtime
 * runs the prompt (prefill), then one decode step per token, feeding each
 * step's present_* outputs back as its past_* inputs (owned by the runtime,
 * moved, never copied), and fills attention_mask / position_ids when the graph
 * has them. Batch 1. */

typedef struct ds_generate_options {
  float temperature;       /* 0 (default): greedy */
  int64_t top_k;           /* 0 (default): every token */
  float top_p;             /* 1 (default): no nucleus cut */
  uint64_t seed;           /* the sampling stream; same seed, same tokens */
  const int64_t *stop_ids; /* generation ends after one of these (may be NULL) */
  size_t num_stop_ids;
} ds_generate_options;

typedef struct ds_generate_stats {
  int64_t prompt_tokens, generated_tokens;
  double prefill_seconds; /* the prompt and the first new token */
  double decode_seconds;  /* every later token */
} ds_generate_stats;

/* Called with each new token as it is chosen; return 0 to stop. */
typedef int (*ds_token_callback)(int64_t token, void *user_data);

/* Fills `options` with the defaults (what NULL options mean). */
void ds_generate_options_init(ds_generate_options *options);

/* Generates up to `max_new_tokens` tokens after the `prompt_len` tokens of
 * `prompt` (at least one). The tokens go to `out_tokens` (room for
 * max_new_tokens; may be NULL when `callback` reads them) and their count to
 * `*out_count`; `callback`, `options` and `stats` may be NULL.
 * DS_ERROR_INVALID_ARGUMENT when the graph is not a decoder this loop can
 * drive (the message names the input or output), or for bad options.
 * Serialized with ds_model_run on the same model. */
ds_status ds_model_generate(ds_model *model, const int64_t *prompt, size_t prompt_len,
                            size_t max_new_tokens, const ds_generate_options *options,
                            ds_token_callback callback, void *user_data, int64_t *out_tokens,
                            size_t *out_count, ds_generate_stats *stats);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DS_RUNTIME_H */
