#include "baton/server/cert_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/store/memory/memory_store.h"

namespace baton::server {
namespace {

using ::testing::HasSubstr;

class CertRegistryTest : public ::testing::Test {
 protected:
  CertRegistryTest()
      : clock_(TimeFromSeconds(1'800'000'000)),
        a_(&store_, &clock_, Seconds(5)),
        b_(&store_, &clock_, Seconds(5)) {}

  CertRecord Issue(const std::string& serial, const std::string& node, Duration life) {
    CertRecord r;
    r.serial = serial;
    r.name = node;
    r.issued_at = clock_.Now();
    r.not_after = clock_.Now() + life;
    EXPECT_TRUE(a_.RecordIssued(r, {}).ok());
    return r;
  }
  static security::CertIdentity Id(const CertRecord& r) {
    security::CertIdentity id;
    id.kind = r.kind;
    id.name = r.name;
    id.serial = r.serial;
    id.not_after = r.not_after;
    return id;
  }
  static std::vector<store::Op> NoAudit(const std::string&) { return {}; }

  store::MemoryStore store_;
  ManualClock clock_;
  CertRegistry a_;  // two replicas over one store
  CertRegistry b_;
};

TEST(NormalizeSerialTest, AcceptsColonsAndCaseAndNamesTheField) {
  EXPECT_EQ(*NormalizeSerial("0a:1b:FF", "serial"), "0A1BFF");
  EXPECT_EQ(*NormalizeSerial("00:0a:1b:FF", "serial"), "0A1BFF");
  EXPECT_EQ(*NormalizeSerial("5f3", "serial"), "05F3");
  EXPECT_EQ(*NormalizeSerial("00", "serial"), "0");
  EXPECT_THAT(NormalizeSerial("", "serial").status().message(), HasSubstr("serial: empty"));
  EXPECT_THAT(NormalizeSerial("12g", "serial").status().message(),
              HasSubstr("serial: '12g' is not a hex serial number"));
  EXPECT_THAT(NormalizeSerial(std::string(65, 'A'), "serial").status().message(),
              HasSubstr("longer than 64"));
}

TEST_F(CertRegistryTest, ANodeRevocationCoversItsUnexpiredCertificatesOnly) {
  CertRecord old = Issue("A1", "n1", Seconds(10));
  CertRecord cur = Issue("A2", "n1", Seconds(3600));
  CertRecord other = Issue("B1", "n2", Seconds(3600));
  clock_.Advance(Seconds(11));  // A1 has expired
  RevokeTarget t;
  t.node_name = "n1";
  auto revoked = a_.Revoke(t, "admin", "stolen", NoAudit);
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  ASSERT_EQ(revoked->size(), 1u);
  EXPECT_EQ(revoked->front().serial, "A2");
  Status s = a_.CheckNotRevoked(Id(cur));
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("node n1's certificate (serial A2) was revoked at"));
  EXPECT_THAT(s.message(), HasSubstr("by admin: stolen"));
  EXPECT_TRUE(a_.CheckNotRevoked(Id(other)).ok());
  // The expired record is gone from the list.
  auto listed = a_.List();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].serial, "A2");
  EXPECT_TRUE((*listed)[0].revoked);
  EXPECT_EQ((*listed)[0].issued_at, cur.issued_at);
  EXPECT_FALSE((*listed)[1].revoked);
  (void)old;
}

TEST_F(CertRegistryTest, AnotherReplicaSeesARevocationWithinItsRefreshPeriod) {
  CertRecord cur = Issue("C1", "n1", Seconds(3600));
  ASSERT_TRUE(b_.CheckNotRevoked(Id(cur)).ok());  // b_ has read the (empty) list now
  RevokeTarget t;
  t.serial = "c1";
  ASSERT_TRUE(a_.Revoke(t, "admin", "", NoAudit).ok());
  EXPECT_FALSE(a_.CheckNotRevoked(Id(cur)).ok());  // at once on the replica that revoked
  clock_.Advance(Seconds(4));
  EXPECT_TRUE(b_.CheckNotRevoked(Id(cur)).ok());  // b_'s copy is still 4 s old
  clock_.Advance(Seconds(1));
  EXPECT_FALSE(b_.CheckNotRevoked(Id(cur)).ok());
}

TEST_F(CertRegistryTest, TheAuditRecordIsWrittenWithTheRevocation) {
  Issue("D1", "n1", Seconds(3600));
  RevokeTarget t;
  t.node_name = "n1";
  std::string audited;
  auto revoked = a_.Revoke(t, "admin", "why", [&](const std::string& object) {
    audited = object;
    return std::vector<store::Op>{{store::Op::kPut, "audit/x", "record"}};
  });
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(audited, "node/n1");
  auto kv = store_.Get("audit/x");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  // Bad targets name what is wrong, and write nothing.
  RevokeTarget none;
  EXPECT_THAT(a_.Revoke(none, "admin", "", NoAudit).status().message(), HasSubstr("exactly one"));
  RevokeTarget bad_node;
  bad_node.node_name = "a b";
  EXPECT_THAT(a_.Revoke(bad_node, "admin", "", NoAudit).status().message(),
              HasSubstr("node_name"));
}

}  // namespace
}  // namespace baton::server
