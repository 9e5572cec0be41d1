#include "baton/server/group_commit.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "baton/store/memory/memory_store.h"

namespace baton::server {
namespace {

// A MemoryStore with etcd-like per-transaction limits that records each Txn's size.
class LimitedStore final : public store::Store {
 public:
  LimitedStore(size_t max_ops, size_t max_bytes) : max_ops_(max_ops), max_bytes_(max_bytes) {}
  Result<std::optional<store::KeyValue>> Get(std::string_view k) override { return mem_.Get(k); }
  Result<std::vector<store::KeyValue>> List(std::string_view p, size_t l) override {
    return mem_.List(p, l);
  }
  Result<int64_t> Put(std::string_view k, std::string_view v, std::optional<int64_t> e) override {
    return mem_.Put(k, v, e);
  }
  Result<int64_t> Delete(std::string_view k, std::optional<int64_t> e) override {
    return mem_.Delete(k, e);
  }
  Result<store::TxnResult> Txn(const store::Txn& txn) override {
    size_t bytes = 0;
    for (const store::Op& op : txn.ops) bytes += op.key.size() + op.value.size();
    {
      std::lock_guard<std::mutex> lock(mu_);
      sizes_.push_back(txn.ops.size());
    }
    if (txn.ops.size() > max_ops_ || bytes > max_bytes_) {
      return ResourceExhausted("txn over the limits");
    }
    return mem_.Txn(txn);
  }
  int64_t Revision() const override { return mem_.Revision(); }
  Result<std::unique_ptr<store::Watcher>> Watch(std::string_view p, int64_t a) override {
    return mem_.Watch(p, a);
  }
  size_t MaxTxnOps() const override { return max_ops_; }
  size_t MaxTxnBytes() const override { return max_bytes_; }
  std::vector<size_t> sizes() {
    std::lock_guard<std::mutex> lock(mu_);
    return sizes_;
  }

 private:
  store::MemoryStore mem_;
  const size_t max_ops_, max_bytes_;
  std::mutex mu_;
  std::vector<size_t> sizes_;
};

TEST(GroupCommitTest, BatchesRespectTheStoresTxnLimits) {
  LimitedStore store(/*max_ops=*/3, /*max_bytes=*/4096);
  std::vector<int> order;
  std::vector<Status> results(12);
  {
    GroupCommitter gc(&store);
    for (int i = 0; i < 10; ++i) {
      gc.Put("k" + std::to_string(i), "v", [&, i](const Status& s) {
        order.push_back(i);
        results[i] = s;
      });
    }
    // Two writes that do not fit together by bytes; one that fits in no transaction.
    gc.Put("big1", std::string(2000, 'x'), [&](const Status& s) { results[10] = s; });
    gc.Put("big2", std::string(2000, 'y'), [&](const Status& s) { results[11] = s; });
    gc.Put("huge", std::string(5000, 'z'),
           [&](const Status& s) { EXPECT_EQ(s.code(), StatusCode::kResourceExhausted); });
    gc.Flush();
  }
  for (int i = 0; i < 12; ++i) EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].ToString();
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(order.size(), 10u);
  const std::vector<size_t> sizes = store.sizes();
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()), 3u);
  EXPECT_TRUE((*store.Get("k9")).has_value());
  EXPECT_TRUE((*store.Get("big2")).has_value());
  EXPECT_FALSE((*store.Get("huge")).has_value());
}

// A change and its audit record go in one transaction, whatever else is queued: a group
// is never split across batches, even where the store's limit cuts them.
TEST(GroupCommitTest, AGroupIsWrittenWhollyInOneTransaction) {
  LimitedStore store(/*max_ops=*/3, /*max_bytes=*/1 << 20);
  int done = 0;
  {
    GroupCommitter gc(&store);
    for (int i = 0; i < 5; ++i) {
      std::vector<store::Op> ops(2);
      ops[0].key = "jobs/" + std::to_string(i);
      ops[0].value = "job";
      ops[1].key = "audit/" + std::to_string(i);
      ops[1].value = "record";
      gc.Commit(std::move(ops), [&](const Status& s) {
        EXPECT_TRUE(s.ok()) << s.ToString();
        ++done;
      });
    }
    gc.Flush();
  }
  EXPECT_EQ(done, 5);
  // With a limit of 3 ops, every transaction carried exactly one 2-op group.
  for (size_t n : store.sizes()) EXPECT_EQ(n, 2u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE((*store.Get("audit/" + std::to_string(i))).has_value());
  }
}

}  // namespace
}  // namespace baton::server
