#!/usr/bin/env bash
# How big a step should a consume queue reserve its blocks in? Many queues append 20-byte entries
# round-robin (as one dispatch thread spreads a topic's messages) into sparse 6,000,000-byte files mapped
# MAP_SHARED, calling fallocate for the next STEP bytes whenever an append crosses the reserved mark, as
# ConsumeQueue does. Per step: fallocate calls and their cost, the disk the files take, extents per file
# (fragmentation: the queues interleave on the disk), and a cold sequential read of every file.
#   QUEUES=1000 KIB_PER_QUEUE=256 STEPS="4 16 64 256 1024" bench/cq-reserve-step.sh [DIR]
# DIR must be on the file system the store uses (default: a temp dir under $TMPDIR).
set -euo pipefail
QUEUES=${QUEUES:-1000}
KIB_PER_QUEUE=${KIB_PER_QUEUE:-256}
STEPS=${STEPS:-"4 16 64 256 1024"}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cq-reserve.XXXXXX")
DIR=${1:-$WORK/files}
trap 'rm -rf "$WORK" "$DIR"' EXIT
cat >"$WORK/probe.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const char* dir = argv[1];
  const int queues = atoi(argv[2]);
  const long bytes_per_queue = atol(argv[3]);
  const long step = atol(argv[4]);
  const long size = 6000000;
  char path[4096];
  char** maps = calloc((size_t)queues, sizeof(char*));
  long* reserved = calloc((size_t)queues, sizeof(long));
  for (int q = 0; q < queues; ++q) {
    snprintf(path, sizeof(path), "%s/%05d", dir, q);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, size) != 0) { perror(path); return 1; }
    maps[q] = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (maps[q] == MAP_FAILED) { perror("mmap"); return 1; }
    close(fd);
  }
  long calls = 0;
  double fallocate_s = 0;
  for (long pos = 0; pos + 20 <= bytes_per_queue; pos += 20) {
    for (int q = 0; q < queues; ++q) {
      if (pos + 20 > reserved[q]) {
        long end = (pos + 20 + step - 1) / step * step;
        if (end > size) end = size;
        const double a = now_s();
        snprintf(path, sizeof(path), "%s/%05d", dir, q);
        int fd = open(path, O_RDWR);
        int rc = posix_fallocate(fd, reserved[q], end - reserved[q]);
        close(fd);
        fallocate_s += now_s() - a;
        if (rc != 0) { fprintf(stderr, "fallocate: %s\n", strerror(rc)); return 1; }
        reserved[q] = end;
        ++calls;
      }
      memset(maps[q] + pos, 0x5a, 20);
    }
  }
  long long blocks = 0;
  long extents = 0;
  for (int q = 0; q < queues; ++q) {
    snprintf(path, sizeof(path), "%s/%05d", dir, q);
    msync(maps[q], (size_t)bytes_per_queue, MS_SYNC);
    munmap(maps[q], (size_t)size);
    int fd = open(path, O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    blocks += st.st_blocks;
    struct fiemap fm;
    memset(&fm, 0, sizeof(fm));
    fm.fm_length = FIEMAP_MAX_OFFSET;
    fm.fm_flags = FIEMAP_FLAG_SYNC;
    if (ioctl(fd, FS_IOC_FIEMAP, &fm) == 0) extents += fm.fm_mapped_extents;
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
  // Cold sequential read of every file's entries, one file after another (a consumer catching up).
  static char buf[1 << 16];
  const double r0 = now_s();
  for (int q = 0; q < queues; ++q) {
    snprintf(path, sizeof(path), "%s/%05d", dir, q);
    int fd = open(path, O_RDONLY);
    for (long off = 0; off < bytes_per_queue; off += (long)sizeof(buf))
      if (pread(fd, buf, sizeof(buf), off) < 0) { perror("pread"); return 1; }
    close(fd);
  }
  const double read_s = now_s() - r0;
  printf("%ld,%d,%ld,%ld,%.2f,%.3f,%.1f,%.2f,%.1f\n", step / 1024, queues, bytes_per_queue / 1024, calls,
         calls ? fallocate_s * 1e6 / (double)calls : 0.0, fallocate_s * 1e9 / ((double)queues * (double)(bytes_per_queue / 20)),
         (double)blocks * 512 / 1048576.0, (double)extents / queues,
         (double)queues * (double)bytes_per_queue / 1048576.0 / read_s);
  return 0;
}
EOF
cc -O2 -o "$WORK/probe" "$WORK/probe.c"
echo "step_kib,queues,kib_per_queue,fallocate_calls,us_per_fallocate,ns_per_entry,disk_mib,extents_per_file,cold_read_mb_per_s"
for s in $STEPS; do
  rm -rf "$DIR"
  mkdir -p "$DIR"
  "$WORK/probe" "$DIR" "$QUEUES" $((KIB_PER_QUEUE * 1024)) $((s * 1024))
done
