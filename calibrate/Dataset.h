//===- Dataset.h - calibration samples from users' tensor files -----------===//
//
// What `--calib PATH` names, cut into model runs (DESIGN §2 phase 5). The
// calibrate driver iterates samples 0..size()-1; each is one tensor per model
// input, in the model's input order. Sources, all read in sorted order (names
// compared with digit runs as numbers, so s2 < s10) and so deterministic:
//   - a directory of .npy files (one-input models) or .npz files (members
//     keyed by input name);
//   - a single .npy / .npz file;
//   - an ONNX test_data_set_N directory (input_0.pb, input_1.pb, ... in input
//     order), or a directory of such directories;
//   - token files for LMs: an integer .npy [num_sequences, seq_len] is an
//     ordinary batch; a 1-D integer .npy for a one-input model of rank 2
//     [batch, seq] is a token stream cut into consecutive windows of seq_len
//     (the model's, or DatasetOptions::sequenceLength when it is dynamic); the
//     tail shorter than a window is dropped.
// Batching along axis 0: a tensor of the model's rank holds N rows. With a
// fixed batch B the rows become N/B samples of B rows (N must be a multiple
// of B; token windows drop the remainder instead). With a dynamic batch the
// file is one sample (or chunks of dynamicBatchRows rows when that is set;
// token windows are one row each). A tensor of rank one less than the model's
// is one unbatched sample when B is 1 or dynamic (a leading 1 is added).
// dtype and every fixed dim must match exactly: nothing is converted.
//
// Every error is a DatasetError with one line: the file, the tensor, what is
// wrong and what to do. All files are read and checked when the dataset is
// opened, so a bad file fails before the (slow) calibration starts.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "calibrate/TensorIO.h"
#include "ds/runtime/Program.h"

#include <memory>
#include <string>
#include <vector>

namespace ds::calib {

class DatasetError : public io::IoError {
public:
  using io::IoError::IoError;
};

struct DatasetOptions {
  int64_t sequenceLength = 0;   // token streams, when the model's seq dim is dynamic
  int64_t dynamicBatchRows = 0; // dynamic batch: rows per sample (0: whole file)
  /// Files are kept in memory after the opening scan while their total size
  /// stays under this; the rest are read again when their samples are asked for.
  size_t maxCachedBytes = size_t{256} << 20;
};

class CalibrationDataset {
public:
  /// Scans and checks every file under `path`; throws DatasetError.
  CalibrationDataset(const std::string &path, std::vector<rt::ValueSpec> inputs,
                     DatasetOptions options = {});
  ~CalibrationDataset();
  CalibrationDataset(CalibrationDataset &&) noexcept;

  size_t size() const { return samples_.size(); }
  const std::vector<rt::ValueSpec> &inputs() const { return inputs_; }
  /// Sample `index` (< size()), one tensor per input. The tensors alias the
  /// file's data (cheap). Not thread-safe: one caller at a time.
  std::vector<rt::Tensor> sample(size_t index) const;
  /// Where sample `index` comes from: "calib/a.npz" or "calib/a.npz rows 4..7".
  std::string origin(size_t index) const;

  /// NaN/Inf elements in a sample's floating-point tensors.
  static int64_t nonFiniteCount(const std::vector<rt::Tensor> &sample);
  /// The default --calib-nan=reject policy: throws DatasetError naming the
  /// sample's file and the first input with NaN/Inf values; returns otherwise.
  void rejectNonFinite(size_t index, const std::vector<rt::Tensor> &sample) const;

private:
  struct Source;
  struct SampleRef {
    size_t source;
    int64_t firstRow, rows;
  };
  std::vector<rt::Tensor> load(size_t source) const;

  std::vector<rt::ValueSpec> inputs_;
  DatasetOptions options_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<SampleRef> samples_;
};

} // namespace ds::calib
