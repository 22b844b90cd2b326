//===- progress_test.cpp - the bar and the milestone lines ----------------===//
#include "calibrate/Progress.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace ds::calib;

TEST(Progress, PlainLinesAtQuarterMilestones) {
  std::ostringstream os;
  double now = 0;
  {
    ProgressReporter p(os, "calibrate", 8, false, [&] { return now; });
    for (int i = 0; i < 8; ++i) {
      now += 1.5;
      p.advance();
    }
  }
  EXPECT_EQ(os.str(), "calibrate: 2/8 (25%), 0:03 elapsed\n"
                      "calibrate: 4/8 (50%), 0:06 elapsed\n"
                      "calibrate: 6/8 (75%), 0:09 elapsed\n"
                      "calibrate: 8/8 (100%), 0:12 elapsed\n");
}

TEST(Progress, TtyBarUpdatesInPlaceWithAnEta) {
  std::ostringstream os;
  double now = 0;
  {
    ProgressReporter p(os, "calibrate", 100, true, [&] { return now; });
    now = 4;
    p.advance(37);
    EXPECT_EQ(os.str(), "\rcalibrate [>                             ] 0/100  ETA ?:??  "
                        "\rcalibrate [===========>                  ] 37/100  ETA 0:07  ");
    os.str("");
    now = 4.05; // within 0.1 s: not redrawn
    p.advance();
    EXPECT_EQ(os.str(), "");
    now = 10;
    p.advance(62); // the last step is always drawn
    EXPECT_EQ(os.str(), "\rcalibrate [==============================] 100/100  ETA 0:00  ");
    os.str("");
  }
  EXPECT_EQ(os.str(), "\n"); // the line is ended once
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(formatDuration(7), "0:07");
  EXPECT_EQ(formatDuration(65), "1:05");
  EXPECT_EQ(formatDuration(43203), "12:00:03");
  EXPECT_EQ(formatDuration(-3), "0:00");
}

TEST(Progress, MovedFromReporterIsSilent) {
  std::ostringstream os;
  {
    ProgressReporter a(os, "x", 2, true, [] { return 0.0; });
    ProgressReporter b(std::move(a));
    b.advance(2);
  }
  EXPECT_EQ(os.str(), "\rx [>                             ] 0/2  ETA ?:??  "
                      "\rx [==============================] 2/2  ETA 0:00  \n");
}
