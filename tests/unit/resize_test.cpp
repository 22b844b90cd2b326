// Tests of the resize kernel against expected values produced by ONNX's
// reference implementation (onnx/reference/ops/op_resize.py, opset 19) for
// every mode, several coordinate transforms and nearest modes, antialias,
// exclude_outside, tf_crop_and_resize with extrapolation, axes and
// keep_aspect_ratio_policy; plus integer exactness, the identity, errors, and
// the depth_to_space / space_to_depth permutations.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace ds::rt;

namespace {

std::vector<Tensor> runOp(const char *name, const AttrMap &attrs,
                          const std::vector<Tensor> &inputs) {
  static ThreadPool pool(3);
  KernelFn fn = findKernel(name);
  EXPECT_NE(fn, nullptr) << name;
  KernelContext ctx{attrs, pool, 1};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

Tensor floats(Shape shape, const std::vector<float> &values) {
  Tensor t(DType::F32, shape);
  std::copy(values.begin(), values.end(), t.mutableData<float>());
  return t;
}

Tensor int64s(const std::vector<int64_t> &values) {
  Tensor t(DType::I64, {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.mutableData<int64_t>());
  return t;
}

Tensor iota(Shape shape) {
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<float>()[i] = static_cast<float>(i + 1);
  return t;
}

struct ResizeCase {
  const char *name;
  Shape inShape;
  std::vector<std::pair<std::string, AttrValue>> attrs;
  std::vector<float> roi, scales;
  std::vector<int64_t> sizes;
  Shape outShape;
  std::vector<float> expected;
};

// Generated with onnx.reference.ReferenceEvaluator on X = 1, 2, 3, ... .
const ResizeCase kReferenceCases[] = {
    {"cubicUp",
     {1, 1, 4, 4},
     {{"mode", std::string("cubic")}},
     {}, {1, 1, 2, 2}, {},
     {1, 1, 8, 8},
     {0.47265625, 0.76953125, 1.24609375, 1.875, 2.28125, 2.91015625, 3.38671875, 3.68359375, 1.66015625, 1.95703125, 2.43359375, 3.0625, 3.46875, 4.09765625, 4.57421875, 4.87109375, 3.56640625, 3.86328125, 4.33984375, 4.96875, 5.375, 6.00390625, 6.48046875, 6.77734375, 6.08203125, 6.37890625, 6.85546875, 7.484375, 7.890625, 8.51953125, 8.99609375, 9.29296875, 7.70703125, 8.00390625, 8.48046875, 9.109375, 9.515625, 10.1445312, 10.6210938, 10.9179688, 10.2226562, 10.5195312, 10.9960938, 11.625, 12.03125, 12.6601562, 13.1367188, 13.4335938, 12.1289062, 12.4257812, 12.9023438, 13.53125, 13.9375, 14.5664062, 15.0429688, 15.3398438, 13.3164062, 13.6132812, 14.0898438, 14.71875, 15.125, 15.7539062, 16.2304688, 16.5273438}},
    {"cubicExclude",
     {1, 1, 4, 4},
     {{"mode", std::string("cubic")}, {"cubic_coeff_a", -0.5f}, {"exclude_outside", int64_t{1}}, {"coordinate_transformation_mode", std::string("half_pixel_symmetric")}},
     {}, {1, 1, 0.800000012, 1.5}, {},
     {1, 1, 3, 6},
     {1.60574341, 2.08329773, 2.83819962, 3.50486612, 4.25976801, 4.73732233, 6.9342103, 7.41176462, 8.16666698, 8.83333302, 9.5882349, 10.0657892, 12.2626772, 12.7402315, 13.4951334, 14.1618004, 14.9167023, 15.3942566}},
    {"linearAlignCorners",
     {1, 1, 2, 4},
     {{"mode", std::string("linear")}, {"coordinate_transformation_mode", std::string("align_corners")}},
     {}, {1, 1, 0.600000024, 0.600000024}, {},
     {1, 1, 1, 2},
     {1, 3.14285707}},
    {"linearAntialias",
     {1, 1, 4, 4},
     {{"mode", std::string("linear")}, {"antialias", int64_t{1}}},
     {}, {1, 1, 0.600000024, 0.600000024}, {},
     {1, 1, 2, 2},
     {2.875, 4.5, 9.375, 11}},
    {"cubicAntialias",
     {1, 1, 4, 4},
     {{"mode", std::string("cubic")}, {"antialias", int64_t{1}}},
     {}, {}, {1, 1, 3, 2},
     {1, 1, 3, 2},
     {2.11024165, 4.12977314, 7.49023438, 9.50976562, 12.8702269, 14.8897581}},
    {"cropExtrapolate",
     {1, 1, 4, 4},
     {{"mode", std::string("linear")}, {"coordinate_transformation_mode", std::string("tf_crop_and_resize")}, {"extrapolation_value", 10.0f}},
     {0, 0, 0.400000006, 0.600000024, 1, 1, 1.20000005, 1.70000005}, {}, {1, 1, 3, 3},
     {1, 1, 3, 3},
     {7.60000038, 10, 10, 12.4000006, 10, 10, 10, 10, 10}},
    {"nearestCeilAsym",
     {1, 1, 4, 4},
     {{"mode", std::string("nearest")}, {"nearest_mode", std::string("ceil")}, {"coordinate_transformation_mode", std::string("asymmetric")}},
     {}, {1, 1, 1.70000005, 0.75}, {},
     {1, 1, 6, 3},
     {1, 3, 4, 5, 7, 8, 9, 11, 12, 9, 11, 12, 13, 15, 16, 13, 15, 16}},
    {"nearestFloorAlign",
     {1, 1, 4, 4},
     {{"mode", std::string("nearest")}, {"nearest_mode", std::string("floor")}, {"coordinate_transformation_mode", std::string("align_corners")}},
     {}, {1, 1, 1.5, 2.5}, {},
     {1, 1, 6, 10},
     {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15, 16}},
    {"keepAspectNotLarger",
     {1, 1, 4, 4},
     {{"mode", std::string("linear")}, {"axes", std::vector<int64_t>{2, 3}}, {"keep_aspect_ratio_policy", std::string("not_larger")}, {"coordinate_transformation_mode", std::string("pytorch_half_pixel")}},
     {}, {}, {7, 8},
     {1, 1, 7, 7},
     {1, 1.35714281, 1.92857146, 2.5, 3.07142854, 3.64285707, 4, 2.42857146, 2.78571439, 3.35714293, 3.92857146, 4.5, 5.07142878, 5.42857122, 4.71428585, 5.07142878, 5.64285707, 6.21428585, 6.78571415, 7.35714293, 7.71428585, 7, 7.35714293, 7.92857122, 8.5, 9.0714283, 9.64285755, 10, 9.28571415, 9.64285755, 10.2142859, 10.7857141, 11.3571424, 11.9285717, 12.2857141, 11.5714283, 11.9285717, 12.5, 13.0714283, 13.6428576, 14.2142859, 14.5714283, 13, 13.3571424, 13.9285717, 14.5, 15.0714283, 15.6428576, 16}},
    {"keepAspectNotSmaller",
     {1, 1, 2, 4},
     {{"mode", std::string("nearest")}, {"axes", std::vector<int64_t>{2, 3}}, {"keep_aspect_ratio_policy", std::string("not_smaller")}, {"nearest_mode", std::string("round_prefer_ceil")}, {"coordinate_transformation_mode", std::string("asymmetric")}},
     {}, {}, {3, 5},
     {1, 1, 3, 6},
     {1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 8, 5, 6, 6, 7, 8, 8}},
};

TEST(ResizeKernel, MatchesOnnxReference) {
  for (const ResizeCase &rc : kReferenceCases) {
    SCOPED_TRACE(rc.name);
    AttrMap attrs;
    for (const auto &[name, value] : rc.attrs)
      attrs.set(name, value);
    std::vector<Tensor> inputs{iota(rc.inShape)};
    inputs.push_back(rc.roi.empty() ? Tensor()
                                    : floats({static_cast<int64_t>(rc.roi.size())}, rc.roi));
    inputs.push_back(rc.scales.empty()
                         ? Tensor()
                         : floats({static_cast<int64_t>(rc.scales.size())}, rc.scales));
    if (!rc.sizes.empty())
      inputs.push_back(int64s(rc.sizes));
    Tensor y = runOp("resize", attrs, inputs)[0];
    ASSERT_EQ(y.shape(), rc.outShape);
    for (size_t i = 0; i < rc.expected.size(); ++i)
      EXPECT_NEAR(y.data<float>()[i], rc.expected[i], 1e-4 * (1 + std::abs(rc.expected[i])))
          << "at " << i;
  }
}

TEST(ResizeKernel, SpecNearestUpsample) {
  // ONNX "resize_upsample_scales_nearest": 2x2 -> 4x6.
  AttrMap attrs;
  Tensor y = runOp("resize", attrs,
                   {iota({1, 1, 2, 2}), Tensor(), floats({4}, {1, 1, 2, 3})})[0];
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4, 6}));
  const float expected[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                              3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(y.data<float>()[i], expected[i]);
}

TEST(ResizeKernel, IdentityAndEmptyScalesWithSizes) {
  Tensor x = iota({2, 3, 4});
  // An empty scales tensor next to sizes is how exporters spell "use sizes".
  Tensor y = runOp("resize", AttrMap{}, {x, Tensor(DType::F32, {0}), Tensor(DType::F32, {0}),
                                         int64s({2, 3, 4})})[0];
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i)
    EXPECT_EQ(y.data<float>()[i], x.data<float>()[i]);
}

TEST(ResizeKernel, IntegerNearestIsExactAndLinearRounds) {
  Tensor x(DType::I64, {1, 2});
  x.mutableData<int64_t>()[0] = (int64_t{1} << 53) + 1;
  x.mutableData<int64_t>()[1] = -7;
  Tensor y = runOp("resize", AttrMap{}, {x, Tensor(), floats({2}, {1, 2})})[0];
  ASSERT_EQ(y.shape(), (Shape{1, 4}));
  EXPECT_EQ(y.data<int64_t>()[0], (int64_t{1} << 53) + 1);
  EXPECT_EQ(y.data<int64_t>()[3], -7);

  Tensor u(DType::U8, {1, 2});
  u.mutableData<uint8_t>()[0] = 10;
  u.mutableData<uint8_t>()[1] = 255;
  AttrMap linear;
  linear.set("mode", std::string("linear"));
  linear.set("coordinate_transformation_mode", std::string("align_corners"));
  Tensor yu = runOp("resize", linear, {u, Tensor(), Tensor(), int64s({1, 3})})[0];
  ASSERT_EQ(yu.dtype(), DType::U8);
  EXPECT_EQ(yu.data<uint8_t>()[0], 10);
  EXPECT_EQ(yu.data<uint8_t>()[1], 132); // 132.5 rounds half to even
  EXPECT_EQ(yu.data<uint8_t>()[2], 255);
}

TEST(ResizeKernel, RejectsBadInputs) {
  Tensor x = iota({1, 1, 2, 2});
  EXPECT_THROW(runOp("resize", AttrMap{}, {x}), Error); // neither scales nor sizes
  EXPECT_THROW(runOp("resize", AttrMap{}, {x, Tensor(), floats({4}, {1, 1, 2, 2}),
                                           int64s({1, 1, 4, 4})}),
               Error); // both
  EXPECT_THROW(runOp("resize", AttrMap{}, {x, Tensor(), floats({2}, {2, 2})}), Error);
  EXPECT_THROW(runOp("resize", AttrMap{}, {x, Tensor(), floats({4}, {1, 1, -2, 2})}), Error);
  AttrMap badMode;
  badMode.set("mode", std::string("bilinear"));
  EXPECT_THROW(runOp("resize", badMode, {x, Tensor(), floats({4}, {1, 1, 2, 2})}), Error);
  AttrMap badCtm;
  badCtm.set("coordinate_transformation_mode", std::string("corners"));
  EXPECT_THROW(runOp("resize", badCtm, {x, Tensor(), floats({4}, {1, 1, 2, 2})}), Error);
  AttrMap crop;
  crop.set("coordinate_transformation_mode", std::string("tf_crop_and_resize"));
  EXPECT_THROW(runOp("resize", crop, {x, Tensor(), floats({4}, {1, 1, 2, 2})}), Error); // no roi
  AttrMap badAxes;
  badAxes.set("axes", std::vector<int64_t>{4});
  EXPECT_THROW(runOp("resize", badAxes, {x, Tensor(), floats({1}, {2})}), Error);
}

TEST(DepthSpaceKernel, SpecExamplesAndRoundTrip) {
  // ONNX "depthtospace_example" (DCR) and "depthtospace_crd_mode_example".
  Tensor x(DType::F32, {1, 8, 2, 3});
  for (int i = 0; i < 48; ++i)
    x.mutableData<float>()[i] = static_cast<float>(i);
  AttrMap dcr;
  dcr.set("blocksize", int64_t{2});
  Tensor y = runOp("depth_to_space", dcr, {x})[0];
  ASSERT_EQ(y.shape(), (Shape{1, 2, 4, 6}));
  const float dcrRow0[6] = {0, 12, 1, 13, 2, 14};
  const float dcrRow1[6] = {24, 36, 25, 37, 26, 38};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(y.data<float>()[i], dcrRow0[i]);
    EXPECT_EQ(y.data<float>()[6 + i], dcrRow1[i]);
  }
  AttrMap crd = dcr;
  crd.set("mode", std::string("CRD"));
  Tensor yc = runOp("depth_to_space", crd, {x})[0];
  const float crdRow0[6] = {0, 6, 1, 7, 2, 8};
  const float crdRow1[6] = {12, 18, 13, 19, 14, 20};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(yc.data<float>()[i], crdRow0[i]);
    EXPECT_EQ(yc.data<float>()[6 + i], crdRow1[i]);
  }
  // SpaceToDepth inverts DCR DepthToSpace.
  Tensor back = runOp("space_to_depth", dcr, {y})[0];
  ASSERT_EQ(back.shape(), x.shape());
  for (int i = 0; i < 48; ++i)
    EXPECT_EQ(back.data<float>()[i], x.data<float>()[i]);
  // Other element sizes.
  Tensor b(DType::I64, {1, 4, 1, 1});
  for (int i = 0; i < 4; ++i)
    b.mutableData<int64_t>()[i] = 100 + i;
  Tensor yb = runOp("depth_to_space", dcr, {b})[0];
  ASSERT_EQ(yb.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(yb.data<int64_t>()[3], 103);
}

TEST(DepthSpaceKernel, RejectsBadInputs) {
  AttrMap attrs;
  attrs.set("blocksize", int64_t{2});
  EXPECT_THROW(runOp("depth_to_space", attrs, {iota({1, 6, 2, 2})}), Error);
  EXPECT_THROW(runOp("space_to_depth", attrs, {iota({1, 1, 3, 2})}), Error);
  EXPECT_THROW(runOp("space_to_depth", attrs, {iota({1, 4, 2})}), Error);
  EXPECT_THROW(runOp("depth_to_space", AttrMap{}, {iota({1, 4, 2, 2})}), Error);
  AttrMap badMode = attrs;
  badMode.set("mode", std::string("XYZ"));
  EXPECT_THROW(runOp("depth_to_space", badMode, {iota({1, 4, 2, 2})}), Error);
}

} // namespace
