// The job spec reference (job_fields.h, docs/reference/job-spec.md) against the parser:
// every key the parser accepts is documented, every documented key is accepted, and every
// documented example parses. A failure says what to add and how to regenerate the docs.
#include "baton/spec/job_fields.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "baton/spec/job_yaml.h"

namespace baton::spec {
namespace {

constexpr char kFix[] =
    "; add a JobFieldDoc to src/baton/spec/job_fields.cc, then regenerate the reference "
    "with `make docs`";

TEST(JobFieldsTest, EveryParserKeyIsDocumentedAndEveryDocumentedKeyIsAccepted) {
  std::set<std::string> documented;
  for (const JobFieldDoc& d : JobFieldDocs()) {
    EXPECT_TRUE(documented.insert(std::string(d.key)).second) << d.key << " documented twice";
    EXPECT_FALSE(d.type.empty()) << d.key << ": no type" << kFix;
    EXPECT_FALSE(d.fallback.empty()) << d.key << ": no default" << kFix;
    EXPECT_FALSE(d.meaning.empty()) << d.key << ": no meaning" << kFix;
  }
  std::set<std::string> accepted;
  for (std::string_view k : JobFieldNames()) accepted.insert(std::string(k));
  for (const std::string& k : accepted) {
    EXPECT_TRUE(documented.contains(k))
        << "job spec key '" << k << "' is accepted by the parser but not documented" << kFix;
  }
  for (const std::string& k : documented) {
    EXPECT_TRUE(accepted.contains(k))
        << "job spec key '" << k << "' is documented but the parser refuses it; remove it "
        << "from src/baton/spec/job_fields.cc and run `make docs`";
  }
}

TEST(JobFieldsTest, EveryDocumentedExampleParses) {
  for (const JobFieldDoc& d : JobFieldDocs()) {
    // gpu_preference must name allowed types; the other fields stand alone.
    std::string yaml = std::string(d.key) + ": " + std::string(d.example) + "\n";
    if (d.key == "gpu_preference") yaml += "gpu_type: [NVIDIA H100 80GB HBM3, H100]\n";
    auto jobs = ParseJobYaml(yaml, "job-spec.md");
    EXPECT_TRUE(jobs.ok()) << "the documented example of '" << d.key
                           << "' does not parse: " << jobs.status().message() << kFix;
  }
}

TEST(JobFieldsTest, MarkdownHasOneRowPerFieldAndEscapesPipes) {
  const std::string md = JobFieldsMarkdown();
  EXPECT_EQ(static_cast<size_t>(std::count(md.begin(), md.end(), '\n')),
            JobFieldDocs().size() + 2);
  EXPECT_NE(md.find("| `gpus` | whole number 1..64, or a fraction 0.001..0.999 | `1` |"),
            std::string::npos)
      << md;
}

}  // namespace
}  // namespace baton::spec
