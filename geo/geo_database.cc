#include "geo/geo_database.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctz/time_zone.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <unordered_set>
#include <utility>

namespace tailor {

const char* GeoDbKindName(GeoDbKind k) {
  switch (k) {
    case GeoDbKind::kLocation: return "location (City/Country)";
    case GeoDbKind::kAsn: return "ASN";
    case GeoDbKind::kAnonymous: return "Anonymous-IP";
    case GeoDbKind::kUnknown: return "unknown";
  }
  return "unknown";
}

GeoDbKind GeoDbKindFromType(std::string_view t) {
  auto has = [&](std::string_view s) { return t.find(s) != std::string_view::npos; };
  if (has("Anonymous-IP")) return GeoDbKind::kAnonymous;
  if (has("ASN") || has("ISP")) return GeoDbKind::kAsn;
  if (has("City") || has("Country") || has("Enterprise")) return GeoDbKind::kLocation;
  return GeoDbKind::kUnknown;
}

namespace {

// Closes the descriptor it holds.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Same device, inode, size, modification and change times: no write reached the file.
bool SameVersion(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

Status Errno(const std::string& path, const char* what) {
  return Status::Error(path + ": " + what + ": " + std::strerror(errno));
}

constexpr int kSnapshotAttempts = 3;

// Copies `path` into a new sealed memfd and returns it in *out. libmaxminddb maps its file
// MAP_SHARED, so mapping the admin's file would let any write to it reach the workers: a
// `cp` over the live file (truncate, then write) turns lookups into SIGBUS or reads of
// half-written data that was never validated. The copy can be changed by no one (sealed
// against writes, shrinking and growing), so what Validate checked stays what lookups read.
// A file written while it is read is read again, and refused after kSnapshotAttempts.
Status Snapshot(const std::string& path, UniqueFd* out) {
  for (int attempt = 1;; ++attempt) {
    UniqueFd src(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (src.get() < 0) return Errno(path, "cannot open");
    struct stat before;
    if (::fstat(src.get(), &before) != 0) return Errno(path, "cannot stat");
    if (!S_ISREG(before.st_mode)) return Status::Error(path + ": not a regular file");
    // (Also what a file being rewritten in place looks like between truncation and write:
    // the reloader tries again when it changes.)
    if (before.st_size == 0) return Status::Error(path + ": the file is empty");
    UniqueFd mem(::memfd_create("tailor-geo", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (mem.get() < 0) return Errno(path, "memfd_create");
    const size_t size = static_cast<size_t>(before.st_size);
    if (::ftruncate(mem.get(), before.st_size) != 0) return Errno(path, "cannot size the copy");
    void* dst = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, mem.get(), 0);
    if (dst == MAP_FAILED) return Errno(path, "cannot map the copy");
    // pread, not a mapping of the source: a file truncated meanwhile gives a short read,
    // never SIGBUS.
    size_t got = 0;
    int read_errno = 0;
    while (got < size) {
      ssize_t n = ::pread(src.get(), static_cast<char*>(dst) + got, size - got,
                          static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) read_errno = errno;
      if (n <= 0) break;  // an error, or the end of a file truncated meanwhile
      got += static_cast<size_t>(n);
    }
    ::munmap(dst, size);  // F_SEAL_WRITE needs no writable mapping left
    if (read_errno != 0) {
      errno = read_errno;
      return Errno(path, "cannot read");
    }
    struct stat after;
    if (::fstat(src.get(), &after) != 0) return Errno(path, "cannot stat");
    if (got == size && SameVersion(before, after)) {
      if (::fcntl(mem.get(), F_ADD_SEALS,
                  F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        return Errno(path, "cannot seal the copy");
      *out = std::move(mem);
      return Status::Ok();
    }
    if (attempt == kSnapshotAttempts)
      return Status::Error(path + ": the file changed while it was read (" +
                           std::to_string(kSnapshotAttempts) +
                           " times); replace it with a rename (mv) rather than rewriting it");
  }
}

}  // namespace

GeoDatabase::~GeoDatabase() {
  if (open_) MMDB_close(&mmdb_);
}

Result<std::shared_ptr<const GeoDatabase>> GeoDatabase::Open(const std::string& path) {
  static std::atomic<uint64_t> next_id{1};
  std::shared_ptr<GeoDatabase> db(new GeoDatabase());
  db->path_ = path;
  UniqueFd copy;
  Status read = Snapshot(path, &copy);
  if (!read.ok()) return read;
  // libmaxminddb opens a path: the copy's own, which it maps (MAP_SHARED, so the master's
  // mapping is shared by the workers it forks) and closes; the mapping keeps the copy alive
  // after `copy` closes below, until MMDB_close.
  const std::string copy_path = "/proc/self/fd/" + std::to_string(copy.get());
  int rc = MMDB_open(copy_path.c_str(), MMDB_MODE_MMAP, &db->mmdb_);
  if (rc != MMDB_SUCCESS) {
    std::string msg = path + ": libmaxminddb: " + MMDB_strerror(rc);
    if (rc == MMDB_IO_ERROR) msg += std::string(" (") + std::strerror(errno) + ")";
    return Status::Error(msg);
  }
  db->open_ = true;
  db->database_type_ = db->mmdb_.metadata.database_type ? db->mmdb_.metadata.database_type : "";
  db->kind_ = GeoDbKindFromType(db->database_type_);
  db->id_ = next_id.fetch_add(1);
  Status st = db->Validate();
  if (!st.ok()) return Status::Error(path + ": " + st.message());
  return std::shared_ptr<const GeoDatabase>(std::move(db));
}

Status GeoDatabase::Validate() {
  const MMDB_metadata_s& md = mmdb_.metadata;
  const uint32_t record_size = md.record_size;
  if (record_size != 24 && record_size != 28 && record_size != 32)
    return Status::Error("unsupported record size " + std::to_string(record_size));
  if (md.ip_version != 4 && md.ip_version != 6)
    return Status::Error("unsupported ip_version " + std::to_string(md.ip_version));
  const uint64_t node_count = md.node_count;
  const uint64_t node_bytes = record_size / 4;  // two records per node
  // libmaxminddb checked that the tree fits before the data section; check again, it is cheap
  // and everything below relies on it.
  if (mmdb_.data_section == nullptr || mmdb_.file_content == nullptr ||
      node_count * node_bytes + 16 > static_cast<uint64_t>(mmdb_.file_size))
    return Status::Error("the search tree is larger than the file (truncated?)");
  data_ = mmdb::DataReader(mmdb_.data_section, mmdb_.data_section_size);

  // Every record of every node, in file order (no tree walk, so a cyclic tree cannot loop).
  // Referenced data offsets go into a bitmap over the data section (millions of records in a
  // full City database: cheaper than sorting them).
  std::vector<uint64_t> referenced(mmdb_.data_section_size / 64 + 1, 0);
  const uint8_t* tree = mmdb_.file_content;
  for (uint64_t n = 0; n < node_count; ++n) {
    const uint8_t* b = tree + n * node_bytes;
    uint64_t rec[2];
    if (record_size == 24) {
      rec[0] = (uint64_t{b[0]} << 16) | (b[1] << 8) | b[2];
      rec[1] = (uint64_t{b[3]} << 16) | (b[4] << 8) | b[5];
    } else if (record_size == 28) {
      rec[0] = (uint64_t{b[3] & 0xF0u} << 20) | (uint64_t{b[0]} << 16) | (b[1] << 8) | b[2];
      rec[1] = (uint64_t{b[3] & 0x0Fu} << 24) | (uint64_t{b[4]} << 16) | (b[5] << 8) | b[6];
    } else {
      rec[0] = (uint64_t{b[0]} << 24) | (uint64_t{b[1]} << 16) | (b[2] << 8) | b[3];
      rec[1] = (uint64_t{b[4]} << 24) | (uint64_t{b[5]} << 16) | (b[6] << 8) | b[7];
    }
    for (uint64_t r : rec) {
      if (r <= node_count) continue;  // a node, or the "no data" marker
      if (r < node_count + 16)
        return Status::Error("search tree node " + std::to_string(n) +
                             " points into the data section separator (corrupt search tree)");
      const uint64_t off = r - node_count - 16;
      if (off >= mmdb_.data_section_size)
        return Status::Error("search tree node " + std::to_string(n) +
                             " points past the end of the data section (corrupt search tree)");
      referenced[off >> 6] |= uint64_t{1} << (off & 63);
    }
  }
  std::vector<uint32_t> records;
  for (size_t w = 0; w < referenced.size(); ++w) {
    for (uint64_t bits = referenced[w]; bits != 0; bits &= bits - 1)
      records.push_back(static_cast<uint32_t>(w * 64 + static_cast<unsigned>(__builtin_ctzll(bits))));
  }
  record_count_ = records.size();

  std::unordered_set<uint32_t> validated;
  std::string why;
  for (uint32_t off : records) {
    if (!data_.Validate(off, &validated, &why)) return Status::Error("corrupt data section: " + why);
  }
  if (kind_ == GeoDbKind::kLocation) LoadZones(records);
  return Status::Ok();
}

void GeoDatabase::LoadZones(const std::vector<uint32_t>& records) {
  std::vector<std::string_view> names;
  for (uint32_t off : records) {
    mmdb::Entry e;
    std::string_view tz;
    if (data_.Path(off, {"location", "time_zone"}, &e) && data_.AsString(e, &tz) && !tz.empty())
      names.push_back(tz);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (std::string_view name : names) {
    Zone z{std::string(name), {}};
    // Unknown names (or a missing tzdata) leave local.* missing for those records.
    if (cctz::load_time_zone(z.name, &z.tz)) zones_.push_back(std::move(z));
  }
}

const cctz::time_zone* GeoDatabase::FindZone(std::string_view name) const {
  auto it = std::lower_bound(zones_.begin(), zones_.end(), name,
                             [](const Zone& z, std::string_view n) { return z.name < n; });
  if (it == zones_.end() || it->name != name) return nullptr;
  return &it->tz;
}

bool GeoDatabase::Lookup(const struct sockaddr* addr, uint32_t* offset) const {
  if (addr == nullptr) return false;
  if (addr->sa_family == AF_INET6 && mmdb_.metadata.ip_version == 4) return false;
  if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) return false;
  int err = 0;
  MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&mmdb_, addr, &err);
  if (err != MMDB_SUCCESS || !r.found_entry) return false;
  if (r.entry.offset >= mmdb_.data_section_size) return false;
  *offset = r.entry.offset;
  return true;
}

}  // namespace tailor
