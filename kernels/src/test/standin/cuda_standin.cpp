// cuda_standin.cpp: a CPU stand-in for the CUDA driver (libcuda.so.1), for tests. It is NOT a GPU and never
// claims to be one: the one device it reports is named "Kiln CPU stand-in (not a GPU)".
//
// It implements the driver entry points Kiln binds (kernels/src/main/java/dev/kiln/cuda/CudaDriver.java), compiled
// against the real CUDA 13 header (/usr/local/cuda/include/cuda.h), so every exported name and prototype is the
// driver's own: a mismatch is a compile error. What it models, and checks, the way a GPU would bite:
// - Device memory is host memory (mmap), poisoned with 0xFF bytes (NaN) at allocation, followed by a PROT_NONE
//   guard page so a kernel that runs past an allocation faults. Copies, memsets and cuBLAS check that every byte
//   they touch lies inside one live allocation.
// - Streams queue their work and run it only at a synchronisation point (stream or event synchronize, freeing
//   memory, destroying a stream). A host read that forgot to wait sees stale data.
// - Stream capture records queued work into a graph; instantiate and launch replay it. Calls that are illegal while
//   a capture is running (allocating or freeing memory, synchronising the capturing stream, copies from pageable
//   host memory) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and invalidate the capture, as the driver does.
// - Modules: cuModuleLoadDataEx takes PTX text or a fatbin (uncompressed, as kernels/regen-ptx.sh builds it), reads
//   each .entry's .param list, and binds the kernel of that name from libkiln_kernels_host.so: Kiln's own .cu files
//   compiled for the host through kernel_host.h. cuLaunchKernel unpacks the arguments by that .param list (libffi)
//   and runs the grid block by block; the threads of a block are separate execution contexts with real barriers.
// - A kernel fault (a barrier not every thread reaches) is sticky, as on a GPU: every later call fails.
// Counters (kiln_standin_counter) let tests see what ran, e.g. that a graph was captured once and replayed.
#include <cuda.h>
#include <dlfcn.h>
#include <ffi.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#define KILN_STANDIN_DRIVER
#include "kernel_host.h"

namespace {

constexpr const char* kName = "Kiln CPU stand-in (not a GPU)";
constexpr size_t kMemoryBytes = size_t(4) << 30; // what cuDeviceTotalMem reports and cuMemAlloc allows in all
constexpr size_t kPage = 4096;

std::recursive_mutex mu; // every entry point holds it: the stand-in runs one call at a time
bool initialized = false;
CUresult sticky = CUDA_SUCCESS; // a kernel fault, as on a GPU, spoils the context for good
std::map<std::string, long> counters;

void note(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::fprintf(stderr, "cuda stand-in: ");
    std::vfprintf(stderr, fmt, ap);
    std::fprintf(stderr, "\n");
    va_end(ap);
}

// ---- contexts ----

struct Context {
    int refs = 0;
};
Context primary;
thread_local Context* current = nullptr;

bool hasContext() { return current == &primary && primary.refs > 0; }

// ---- memory ----

struct Allocation {
    uintptr_t base;
    size_t bytes;
    void* map;
    size_t mapBytes;
};
std::map<uintptr_t, Allocation> device;  // by base
std::map<uintptr_t, size_t> pinned;      // cuMemAllocHost: base -> bytes
size_t deviceBytes = 0;

const Allocation* findDevice(uintptr_t p) {
    auto it = device.upper_bound(p);
    if (it == device.begin()) {
        return nullptr;
    }
    --it;
    return p < it->second.base + it->second.bytes ? &it->second : nullptr;
}

bool deviceRange(uintptr_t p, size_t bytes) {
    const Allocation* a = findDevice(p);
    return a != nullptr && bytes <= a->base + a->bytes - p;
}

bool pinnedRange(uintptr_t p, size_t bytes) {
    auto it = pinned.upper_bound(p);
    if (it == pinned.begin()) {
        return false;
    }
    --it;
    return p >= it->first && p + bytes <= it->first + it->second;
}

// ---- streams, graphs, events ----

struct Op {
    std::string what;
    std::function<CUresult()> run;
};

struct Graph {
    std::vector<Op> ops;
};

struct Stream {
    std::deque<Op> queue;
    Graph* capture = nullptr;   // while capturing
    bool invalidated = false;   // an illegal call spoiled the capture
};

struct Event {
    Stream* stream = nullptr;   // where it was last recorded
    bool pending = false;       // recorded, not yet reached
    bool reached = false;
    double millis = 0;
};

Stream legacy; // the NULL stream
std::set<Stream*> streams;
std::set<Graph*> graphs;
std::set<Graph*> execs;
std::set<Event*> events;

Stream* streamOf(CUstream s) {
    if (s == nullptr) {
        return &legacy;
    }
    Stream* st = reinterpret_cast<Stream*>(s);
    return streams.count(st) ? st : nullptr;
}

bool anyCapture() {
    for (Stream* s : streams) {
        if (s->capture != nullptr) {
            return true;
        }
    }
    return false;
}

// A call the driver forbids while a capture runs: spoils every running capture and says so.
CUresult forbiddenInCapture(const char* call) {
    for (Stream* s : streams) {
        if (s->capture != nullptr) {
            s->invalidated = true;
        }
    }
    note("%s while a stream is being captured: CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED (the capture is invalidated)", call);
    return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
}

CUresult enqueue(Stream* s, Op op) {
    if (s->capture != nullptr) {
        s->capture->ops.push_back(std::move(op));
    } else {
        s->queue.push_back(std::move(op));
    }
    return CUDA_SUCCESS;
}

CUresult drain(Stream* s) {
    while (!s->queue.empty()) {
        Op op = std::move(s->queue.front());
        s->queue.pop_front();
        if (sticky != CUDA_SUCCESS) {
            continue;
        }
        CUresult rc = op.run();
        counters["ops"]++;
        if (rc != CUDA_SUCCESS) {
            sticky = rc;
            note("%s failed (%d); the context is unusable from now on, as after a GPU fault", op.what.c_str(), rc);
        }
    }
    return sticky;
}

CUresult drainAll() {
    drain(&legacy);
    for (Stream* s : streams) {
        drain(s);
    }
    return sticky;
}

double nowMillis() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// ---- kernels: modules and the block executor ----

struct Kernel {
    std::string name;
    void* host = nullptr;                 // the host build of the kernel
    std::vector<ffi_type*> types;         // one per .param, from the PTX
    std::vector<size_t> sizes;
    ffi_cif cif;
};

struct Module {
    std::map<std::string, std::unique_ptr<Kernel>> kernels;
};
std::set<Module*> modules;
std::set<Kernel*> functions;

void* hostKernels() {
    static void* handle = nullptr;
    if (handle == nullptr) {
        Dl_info self;
        dladdr(reinterpret_cast<void*>(&hostKernels), &self);
        std::string path = self.dli_fname;
        path = path.substr(0, path.rfind('/') + 1) + "libkiln_kernels_host.so";
        handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle == nullptr) {
            note("cannot load the host build of Kiln's kernels: %s", dlerror());
        }
    }
    return handle;
}

// Reads every ".entry NAME(.param .TYPE NAME_param_i, ...)" of a PTX text. Returns "" or what is wrong.
std::string parsePtx(const std::string& ptx, Module& m) {
    size_t at = ptx.find(".version ");
    if (at != std::string::npos) {
        int major = 0, minor = 0;
        if (std::sscanf(ptx.c_str() + at, ".version %d.%d", &major, &minor) == 2 && major * 10 + minor > 90) {
            return "ptxas application ptx input: fatal : Unsupported .version " + std::to_string(major) + "."
                   + std::to_string(minor) + "; current version is '9.0'";
        }
    }
    for (size_t p = ptx.find(".entry "); p != std::string::npos; p = ptx.find(".entry ", p + 1)) {
        size_t open = ptx.find('(', p), close = ptx.find(')', p);
        if (open == std::string::npos || close == std::string::npos) {
            return "ptxas: a .entry without a parameter list";
        }
        std::string name = ptx.substr(p + 7, open - p - 7);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\n')) {
            name.pop_back();
        }
        auto k = std::make_unique<Kernel>();
        k->name = name;
        std::string params = ptx.substr(open + 1, close - open - 1);
        for (size_t q = params.find(".param"); q != std::string::npos; q = params.find(".param", q + 1)) {
            char type[16] = {0};
            if (std::sscanf(params.c_str() + q, ".param .%15[a-z0-9]", type) != 1) {
                return "ptxas: cannot read a .param of " + name;
            }
            std::string t = type;
            if (t == "u64" || t == "s64" || t == "b64") {
                k->types.push_back(&ffi_type_uint64);
                k->sizes.push_back(8);
            } else if (t == "u32" || t == "s32" || t == "b32") {
                k->types.push_back(&ffi_type_sint32);
                k->sizes.push_back(4);
            } else if (t == "f32") {
                k->types.push_back(&ffi_type_float);
                k->sizes.push_back(4);
            } else {
                return "the stand-in cannot pass a .param ." + t + " (kernel " + name + "): extend cuda_standin.cpp";
            }
        }
        void* lib = hostKernels();
        k->host = lib == nullptr ? nullptr : dlsym(lib, name.c_str());
        if (k->host == nullptr) {
            return "the stand-in has no host build of kernel " + name + " (libkiln_kernels_host.so)";
        }
        if (ffi_prep_cif(&k->cif, FFI_DEFAULT_ABI, unsigned(k->types.size()), &ffi_type_void, k->types.data()) != FFI_OK) {
            return "ffi_prep_cif failed for " + name;
        }
        m.kernels[name] = std::move(k);
    }
    if (m.kernels.empty()) {
        return "ptxas: no .entry in the module image";
    }
    return "";
}

// One block's threads as execution contexts. A context starts once (makecontext, swapcontext) and then lives on,
// switched with _setjmp/_longjmp, which unlike swapcontext make no system call; every launch reuses them.
constexpr size_t kStack = 64 * 1024;
enum State { READY, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };

struct Fiber {
    jmp_buf env;
    ucontext_t start;
    char* stack = nullptr;
    bool started = false;
};

struct Block {
    Kernel* kernel = nullptr;
    void** args = nullptr;
    uint3 blockIdx{}, blockDim{}, gridDim{};
    int threads = 0;
    int current = 0;
    std::vector<Fiber> fibers;
    std::vector<uint3> threadIdx;
    std::vector<State> state;
    std::vector<float> lanes;    // shuffle values
    std::vector<int> votes;      // __syncthreads_count
    std::vector<int> warpArrived;
    int blockArrived = 0;
    jmp_buf scheduler;
};
Block run;

void yieldToScheduler() {
    Fiber& f = run.fibers[run.current];
    if (_setjmp(f.env) == 0) {
        _longjmp(run.scheduler, 1);
    }
}

} // namespace

// The one function every fiber runs: the current kernel, for the current thread, then back to the scheduler.
extern "C" void kiln_standin_fiber(void) {
    for (;;) {
        ffi_call(&run.kernel->cif, FFI_FN(run.kernel->host), nullptr, run.args);
        run.state[run.current] = DONE;
        yieldToScheduler();
    }
}

namespace {

// Runs thread t until it finishes or waits at a barrier. Kept apart from runBlock so that no local variable of the
// caller lives across the _setjmp.
__attribute__((noinline)) void switchTo(int t) {
    run.current = t;
    Fiber& f = run.fibers[t];
    if (_setjmp(run.scheduler) != 0) {
        return; // the fiber is back
    }
    if (f.started) {
        _longjmp(f.env, 1);
    }
    if (f.stack == nullptr) {
        f.stack = static_cast<char*>(std::malloc(kStack));
    }
    getcontext(&f.start);
    f.start.uc_stack.ss_sp = f.stack;
    f.start.uc_stack.ss_size = kStack;
    f.start.uc_link = nullptr;
    makecontext(&f.start, kiln_standin_fiber, 0);
    f.started = true;
    ucontext_t here;
    swapcontext(&here, &f.start); // does not return: the fiber comes back through _longjmp(run.scheduler)
}

// Runs one block to the end; returns "" or the fault.
std::string runBlock() {
    int n = run.threads;
    if (int(run.fibers.size()) < n) {
        run.fibers.resize(n);
    }
    run.threadIdx.resize(n);
    run.state.assign(n, READY);
    run.lanes.assign(n, 0.0f);
    run.votes.assign(n, 0);
    run.warpArrived.assign((n + 31) / 32, 0);
    run.blockArrived = 0;
    for (int t = 0; t < n; t++) {
        run.threadIdx[t] = uint3{unsigned(t) % run.blockDim.x, (unsigned(t) / run.blockDim.x) % run.blockDim.y,
                                 unsigned(t) / (run.blockDim.x * run.blockDim.y)};
    }
    for (;;) {
        bool progressed = false, done = true;
        for (int t = 0; t < n; t++) {
            if (run.state[t] == READY) {
                progressed = true;
                switchTo(t);
            }
            done = done && run.state[t] == DONE;
        }
        if (done) {
            return "";
        }
        if (!progressed) {
            int finished = 0, waiting = 0;
            for (int t = 0; t < n; t++) {
                finished += run.state[t] == DONE;
                waiting += run.state[t] != DONE;
            }
            // The waiting fibers stay parked at their barrier; their next job restarts them from the top.
            for (int t = 0; t < n; t++) {
                if (run.state[t] != DONE) {
                    run.fibers[t].started = false;
                }
            }
            return "kernel " + run.kernel->name + ": " + std::to_string(waiting) + " threads of block ("
                   + std::to_string(run.blockIdx.x) + "," + std::to_string(run.blockIdx.y)
                   + ") wait at a barrier that " + std::to_string(finished)
                   + " threads of the block never reach (they returned)";
        }
    }
}

void warpBarrier() {
    int t = run.current, w = t / 32;
    int lanes = std::min(32, run.threads - w * 32);
    if (++run.warpArrived[w] == lanes) {
        run.warpArrived[w] = 0;
        for (int u = w * 32; u < w * 32 + lanes; u++) {
            if (run.state[u] == AT_WARP_BARRIER) {
                run.state[u] = READY;
            }
        }
        return;
    }
    run.state[t] = AT_WARP_BARRIER;
    yieldToScheduler();
}

CUresult launchNow(Kernel* k, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   std::vector<uint64_t>& values) {
    std::vector<void*> args(values.size());
    for (size_t i = 0; i < values.size(); i++) {
        args[i] = &values[i];
    }
    run.kernel = k;
    run.args = args.data();
    run.blockDim = uint3{bx, by, bz};
    run.gridDim = uint3{gx, gy, gz};
    run.threads = int(bx * by * bz);
    for (unsigned z = 0; z < gz; z++) {
        for (unsigned y = 0; y < gy; y++) {
            for (unsigned x = 0; x < gx; x++) {
                run.blockIdx = uint3{x, y, z};
                std::string fault = runBlock();
                if (!fault.empty()) {
                    note("%s: CUDA_ERROR_LAUNCH_FAILED", fault.c_str());
                    return CUDA_ERROR_LAUNCH_FAILED;
                }
            }
        }
    }
    counters["kernels run"]++;
    return CUDA_SUCCESS;
}

const char* errorName(CUresult e) {
    switch (e) {
        case CUDA_SUCCESS: return "CUDA_SUCCESS";
        case CUDA_ERROR_INVALID_VALUE: return "CUDA_ERROR_INVALID_VALUE";
        case CUDA_ERROR_OUT_OF_MEMORY: return "CUDA_ERROR_OUT_OF_MEMORY";
        case CUDA_ERROR_NOT_INITIALIZED: return "CUDA_ERROR_NOT_INITIALIZED";
        case CUDA_ERROR_NO_DEVICE: return "CUDA_ERROR_NO_DEVICE";
        case CUDA_ERROR_INVALID_DEVICE: return "CUDA_ERROR_INVALID_DEVICE";
        case CUDA_ERROR_INVALID_IMAGE: return "CUDA_ERROR_INVALID_IMAGE";
        case CUDA_ERROR_INVALID_CONTEXT: return "CUDA_ERROR_INVALID_CONTEXT";
        case CUDA_ERROR_INVALID_PTX: return "CUDA_ERROR_INVALID_PTX";
        case CUDA_ERROR_JIT_COMPILER_NOT_FOUND: return "CUDA_ERROR_JIT_COMPILER_NOT_FOUND";
        case CUDA_ERROR_UNSUPPORTED_PTX_VERSION: return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
        case CUDA_ERROR_INVALID_HANDLE: return "CUDA_ERROR_INVALID_HANDLE";
        case CUDA_ERROR_ILLEGAL_STATE: return "CUDA_ERROR_ILLEGAL_STATE";
        case CUDA_ERROR_NOT_FOUND: return "CUDA_ERROR_NOT_FOUND";
        case CUDA_ERROR_NOT_READY: return "CUDA_ERROR_NOT_READY";
        case CUDA_ERROR_ILLEGAL_ADDRESS: return "CUDA_ERROR_ILLEGAL_ADDRESS";
        case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
        case CUDA_ERROR_LAUNCH_FAILED: return "CUDA_ERROR_LAUNCH_FAILED";
        case CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED: return "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED";
        case CUDA_ERROR_STREAM_CAPTURE_INVALIDATED: return "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED";
        case CUDA_ERROR_NOT_SUPPORTED: return "CUDA_ERROR_NOT_SUPPORTED";
        default: return nullptr;
    }
}

const char* errorString(CUresult e) {
    switch (e) {
        case CUDA_SUCCESS: return "no error";
        case CUDA_ERROR_INVALID_VALUE: return "invalid argument";
        case CUDA_ERROR_OUT_OF_MEMORY: return "out of memory";
        case CUDA_ERROR_NOT_INITIALIZED: return "initialization error";
        case CUDA_ERROR_NO_DEVICE: return "no CUDA-capable device is detected";
        case CUDA_ERROR_INVALID_DEVICE: return "invalid device ordinal";
        case CUDA_ERROR_INVALID_IMAGE: return "device kernel image is invalid";
        case CUDA_ERROR_INVALID_CONTEXT: return "invalid device context";
        case CUDA_ERROR_INVALID_PTX: return "a PTX JIT compilation failed";
        case CUDA_ERROR_JIT_COMPILER_NOT_FOUND: return "PTX JIT compiler library not found";
        case CUDA_ERROR_UNSUPPORTED_PTX_VERSION: return "the provided PTX was compiled with an unsupported toolchain.";
        case CUDA_ERROR_INVALID_HANDLE: return "invalid resource handle";
        case CUDA_ERROR_ILLEGAL_STATE: return "the operation cannot be performed in the present state";
        case CUDA_ERROR_NOT_FOUND: return "named symbol not found";
        case CUDA_ERROR_NOT_READY: return "device not ready";
        case CUDA_ERROR_ILLEGAL_ADDRESS: return "an illegal memory access was encountered";
        case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: return "too many resources requested for launch";
        case CUDA_ERROR_LAUNCH_FAILED: return "unspecified launch failure";
        case CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED: return "operation not permitted when stream is capturing";
        case CUDA_ERROR_STREAM_CAPTURE_INVALIDATED: return "operation failed due to a previous error during capture";
        case CUDA_ERROR_NOT_SUPPORTED: return "operation not supported";
        default: return nullptr;
    }
}

// The checks nearly every call starts with.
#define LOCK std::lock_guard<std::recursive_mutex> lock(mu)
#define REQUIRE_INIT if (!initialized) return CUDA_ERROR_NOT_INITIALIZED
#define REQUIRE_CONTEXT REQUIRE_INIT; if (!hasContext()) return CUDA_ERROR_INVALID_CONTEXT; if (sticky) return sticky

} // namespace

// ================= the driver API =================

extern "C" {

CUresult cuInit(unsigned int flags) {
    LOCK;
    if (flags != 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    initialized = true;
    return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int* version) {
    if (version == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *version = 13000;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int* count) {
    LOCK;
    REQUIRE_INIT;
    if (count == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *count = 1;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice* dev, int ordinal) {
    LOCK;
    REQUIRE_INIT;
    if (dev == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (ordinal != 0) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    *dev = 0;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
    LOCK;
    REQUIRE_INIT;
    if (name == nullptr || len <= 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (dev != 0) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    std::snprintf(name, size_t(len), "%s", kName);
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int* value, CUdevice_attribute attribute, CUdevice dev) {
    LOCK;
    REQUIRE_INIT;
    if (value == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (dev != 0) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    switch (attribute) {
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = 9; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = 0; break;
        case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *value = 1; break;
        case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = 1024; break;
        case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *value = 32; break;
        default: return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev) {
    LOCK;
    REQUIRE_INIT;
    if (bytes == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (dev != 0) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    *bytes = kMemoryBytes;
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext* ctx, CUdevice dev) {
    LOCK;
    REQUIRE_INIT;
    if (ctx == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (dev != 0) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    primary.refs++;
    *ctx = reinterpret_cast<CUcontext>(&primary);
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
    LOCK;
    REQUIRE_INIT;
    if (dev != 0) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    if (primary.refs == 0) {
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    if (--primary.refs == 0) {
        // The context and everything in it goes; a later retain gets a fresh one.
        drainAll();
        for (auto& [base, a] : device) {
            munmap(a.map, a.mapBytes);
        }
        device.clear();
        deviceBytes = 0;
        sticky = CUDA_SUCCESS;
        counters["context resets"]++;
    }
    return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx) {
    LOCK;
    REQUIRE_INIT;
    if (ctx != nullptr && ctx != reinterpret_cast<CUcontext>(&primary)) {
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    current = reinterpret_cast<Context*>(ctx);
    return CUDA_SUCCESS;
}

CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
    LOCK;
    REQUIRE_CONTEXT;
    if (anyCapture()) {
        return forbiddenInCapture("cuMemAlloc");
    }
    if (dptr == nullptr || bytes == 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (bytes > kMemoryBytes - deviceBytes) {
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    size_t usable = (bytes + 255) / 256 * 256;
    size_t mapBytes = (usable + kPage - 1) / kPage * kPage + kPage;
    void* map = mmap(nullptr, mapBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    char* guard = static_cast<char*>(map) + mapBytes - kPage;
    mprotect(guard, kPage, PROT_NONE);
    uintptr_t base = reinterpret_cast<uintptr_t>(guard) - usable; // the allocation ends at the guard page
    std::memset(reinterpret_cast<void*>(base), 0xFF, usable);     // poison: reading before writing gives NaN
    device[base] = Allocation{base, bytes, map, mapBytes};
    deviceBytes += bytes;
    counters["allocations"]++;
    *dptr = CUdeviceptr(base);
    return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr dptr) {
    LOCK;
    REQUIRE_INIT;
    if (!hasContext()) {
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    if (anyCapture()) {
        return forbiddenInCapture("cuMemFree");
    }
    auto it = device.find(uintptr_t(dptr));
    if (it == device.end()) {
        note("cuMemFree_v2(0x%llx): not the start of a live allocation", (unsigned long long) dptr);
        return CUDA_ERROR_INVALID_VALUE;
    }
    drainAll(); // freeing waits for the work that may still use the memory
    munmap(it->second.map, it->second.mapBytes);
    deviceBytes -= it->second.bytes;
    device.erase(it);
    return CUDA_SUCCESS;
}

CUresult cuMemAllocHost_v2(void** pp, size_t bytes) {
    LOCK;
    REQUIRE_CONTEXT;
    if (anyCapture()) {
        return forbiddenInCapture("cuMemAllocHost");
    }
    if (pp == nullptr || bytes == 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    void* p = std::aligned_alloc(kPage, (bytes + kPage - 1) / kPage * kPage);
    if (p == nullptr) {
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    pinned[reinterpret_cast<uintptr_t>(p)] = bytes;
    *pp = p;
    return CUDA_SUCCESS;
}

CUresult cuMemFreeHost(void* p) {
    LOCK;
    REQUIRE_INIT;
    auto it = pinned.find(reinterpret_cast<uintptr_t>(p));
    if (it == pinned.end()) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    drainAll();
    pinned.erase(it);
    std::free(p);
    return CUDA_SUCCESS;
}

static CUresult copyChecks(const char* call, Stream** s, CUstream h, bool hostSide, uintptr_t host, size_t bytes) {
    *s = streamOf(h);
    if (*s == nullptr) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (hostSide && (*s)->capture != nullptr && !pinnedRange(host, bytes)) {
        return forbiddenInCapture(call); // a graph may only copy from page-locked host memory
    }
    return CUDA_SUCCESS;
}

static CUresult badRange(const char* call, const char* what, uintptr_t p, size_t bytes) {
    note("%s: %s [0x%lx, +%zu bytes) is not inside one live device allocation", call, what, (unsigned long) p, bytes);
    return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, CUstream h) {
    LOCK;
    REQUIRE_CONTEXT;
    Stream* s;
    if (CUresult rc = copyChecks("cuMemcpyHtoDAsync", &s, h, true, uintptr_t(src), bytes)) {
        return rc;
    }
    if (!deviceRange(dst, bytes)) {
        return badRange("cuMemcpyHtoDAsync_v2", "dst", dst, bytes);
    }
    // The source is read when the copy runs, not now: the caller must not reuse it before a synchronisation.
    return enqueue(s, Op{"cuMemcpyHtoDAsync", [=] {
        std::memcpy(reinterpret_cast<void*>(dst), src, bytes);
        return CUDA_SUCCESS;
    }});
}

CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, CUstream h) {
    LOCK;
    REQUIRE_CONTEXT;
    Stream* s;
    if (CUresult rc = copyChecks("cuMemcpyDtoHAsync", &s, h, true, uintptr_t(dst), bytes)) {
        return rc;
    }
    if (!deviceRange(src, bytes)) {
        return badRange("cuMemcpyDtoHAsync_v2", "src", src, bytes);
    }
    return enqueue(s, Op{"cuMemcpyDtoHAsync", [=] {
        std::memcpy(dst, reinterpret_cast<void*>(src), bytes);
        return CUDA_SUCCESS;
    }});
}

CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream h) {
    LOCK;
    REQUIRE_CONTEXT;
    Stream* s;
    if (CUresult rc = copyChecks("cuMemcpyDtoDAsync", &s, h, false, 0, bytes)) {
        return rc;
    }
    if (!deviceRange(dst, bytes)) {
        return badRange("cuMemcpyDtoDAsync_v2", "dst", dst, bytes);
    }
    if (!deviceRange(src, bytes)) {
        return badRange("cuMemcpyDtoDAsync_v2", "src", src, bytes);
    }
    return enqueue(s, Op{"cuMemcpyDtoDAsync", [=] {
        std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<void*>(src), bytes);
        return CUDA_SUCCESS;
    }});
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t count, CUstream h) {
    LOCK;
    REQUIRE_CONTEXT;
    Stream* s = streamOf(h);
    if (s == nullptr) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (dst % 4 != 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (!deviceRange(dst, count * 4)) {
        return badRange("cuMemsetD32Async", "dst", dst, count * 4);
    }
    return enqueue(s, Op{"cuMemsetD32Async", [=] {
        unsigned int* p = reinterpret_cast<unsigned int*>(dst);
        for (size_t i = 0; i < count; i++) {
            p[i] = value;
        }
        return CUDA_SUCCESS;
    }});
}

CUresult cuStreamCreate(CUstream* out, unsigned int flags) {
    LOCK;
    REQUIRE_CONTEXT;
    if (out == nullptr || (flags & ~1u) != 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    Stream* s = new Stream();
    streams.insert(s);
    *out = reinterpret_cast<CUstream>(s);
    return CUDA_SUCCESS;
}

CUresult cuStreamDestroy_v2(CUstream h) {
    LOCK;
    REQUIRE_INIT;
    Stream* s = reinterpret_cast<Stream*>(h);
    if (h == nullptr || !streams.count(s)) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (s->capture != nullptr) {
        return CUDA_ERROR_ILLEGAL_STATE;
    }
    drain(s); // queued work still completes
    streams.erase(s);
    delete s;
    return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream h) {
    LOCK;
    REQUIRE_INIT;
    Stream* s = streamOf(h);
    if (s == nullptr) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (s->capture != nullptr) {
        return forbiddenInCapture("cuStreamSynchronize");
    }
    counters["stream syncs"]++;
    return h == nullptr ? drainAll() : drain(s);
}

CUresult cuEventCreate(CUevent* out, unsigned int flags) {
    LOCK;
    REQUIRE_CONTEXT;
    if (out == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    Event* e = new Event();
    events.insert(e);
    *out = reinterpret_cast<CUevent>(e);
    return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent h, CUstream hs) {
    LOCK;
    REQUIRE_CONTEXT;
    Event* e = reinterpret_cast<Event*>(h);
    Stream* s = streamOf(hs);
    if (!events.count(e) || s == nullptr) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    e->stream = s;
    e->pending = true;
    e->reached = false;
    return enqueue(s, Op{"cuEventRecord", [e] {
        if (events.count(e)) {
            e->millis = nowMillis();
            e->reached = true;
            e->pending = false;
        }
        return CUDA_SUCCESS;
    }});
}

CUresult cuEventSynchronize(CUevent h) {
    LOCK;
    REQUIRE_INIT;
    Event* e = reinterpret_cast<Event*>(h);
    if (!events.count(e)) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (!e->pending) {
        return sticky; // never recorded, or already reached
    }
    if (e->stream->capture != nullptr) {
        return forbiddenInCapture("cuEventSynchronize");
    }
    return drain(e->stream);
}

CUresult cuEventElapsedTime_v2(float* ms, CUevent start, CUevent end) {
    LOCK;
    REQUIRE_INIT;
    Event* a = reinterpret_cast<Event*>(start);
    Event* b = reinterpret_cast<Event*>(end);
    if (ms == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (!events.count(a) || !events.count(b)) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (!a->reached || !b->reached) {
        return a->pending || b->pending ? CUDA_ERROR_NOT_READY : CUDA_ERROR_INVALID_HANDLE;
    }
    *ms = float(b->millis - a->millis);
    return CUDA_SUCCESS;
}

CUresult cuEventDestroy_v2(CUevent h) {
    LOCK;
    REQUIRE_INIT;
    Event* e = reinterpret_cast<Event*>(h);
    if (!events.count(e)) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    events.erase(e);
    delete e;
    return CUDA_SUCCESS;
}

CUresult cuModuleLoadDataEx(CUmodule* out, const void* image, unsigned int numOptions, CUjit_option* options,
                            void** values) {
    LOCK;
    REQUIRE_CONTEXT;
    if (out == nullptr || image == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    char* log = nullptr;
    size_t logBytes = 0;
    for (unsigned i = 0; i < numOptions; i++) {
        if (options[i] == CU_JIT_ERROR_LOG_BUFFER) {
            log = static_cast<char*>(values[i]);
        } else if (options[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES) {
            logBytes = reinterpret_cast<uintptr_t>(values[i]);
        }
    }
    // A fatbin starts with its magic, a version, the header size and the size of what follows; PTX is plain text.
    const unsigned char* bytes = static_cast<const unsigned char*>(image);
    std::string text;
    uint32_t magic;
    std::memcpy(&magic, bytes, 4);
    if (magic == 0xBA55ED50u) {
        uint16_t headerBytes;
        uint64_t bodyBytes;
        std::memcpy(&headerBytes, bytes + 6, 2);
        std::memcpy(&bodyBytes, bytes + 8, 8);
        text.assign(reinterpret_cast<const char*>(bytes) + headerBytes, bodyBytes);
        if (text.find(".entry ") == std::string::npos) {
            note("cuModuleLoadDataEx: this fatbin holds no readable PTX (compressed?); build it with --no-compress");
            return CUDA_ERROR_INVALID_IMAGE;
        }
    } else {
        text = static_cast<const char*>(image);
    }
    auto m = std::make_unique<Module>();
    std::string error = parsePtx(text, *m);
    if (!error.empty()) {
        if (log != nullptr && logBytes > 0) {
            std::snprintf(log, logBytes, "%s", error.c_str());
        }
        return error.find("Unsupported .version") != std::string::npos ? CUDA_ERROR_UNSUPPORTED_PTX_VERSION
                                                                       : CUDA_ERROR_INVALID_PTX;
    }
    for (auto& [name, k] : m->kernels) {
        functions.insert(k.get());
    }
    counters["modules loaded"]++;
    *out = reinterpret_cast<CUmodule>(m.get());
    modules.insert(m.release());
    return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule h) {
    LOCK;
    REQUIRE_INIT;
    Module* m = reinterpret_cast<Module*>(h);
    if (!modules.count(m)) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    drainAll();
    for (auto& [name, k] : m->kernels) {
        functions.erase(k.get());
    }
    modules.erase(m);
    delete m;
    return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction* out, CUmodule h, const char* name) {
    LOCK;
    REQUIRE_CONTEXT;
    Module* m = reinterpret_cast<Module*>(h);
    if (out == nullptr || name == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (!modules.count(m)) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    auto it = m->kernels.find(name);
    if (it == m->kernels.end()) {
        return CUDA_ERROR_NOT_FOUND;
    }
    *out = reinterpret_cast<CUfunction>(it->second.get());
    return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                        unsigned int by, unsigned int bz, unsigned int sharedMemBytes, CUstream h, void** kernelParams,
                        void** extra) {
    LOCK;
    REQUIRE_CONTEXT;
    Kernel* k = reinterpret_cast<Kernel*>(f);
    Stream* s = streamOf(h);
    if (!functions.count(k) || s == nullptr) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 || gy > 65535 || gz > 65535 || bx > 1024
        || by > 1024 || bz > 64 || extra != nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (size_t(bx) * by * bz > 1024) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (sharedMemBytes > 48 * 1024) {
        return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
    }
    if (!k->sizes.empty() && kernelParams == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    // The driver copies the argument values at launch (also into a captured graph); so do we.
    std::vector<uint64_t> values(k->sizes.size(), 0);
    for (size_t i = 0; i < k->sizes.size(); i++) {
        std::memcpy(&values[i], kernelParams[i], k->sizes[i]);
    }
    counters["launches"]++;
    return enqueue(s, Op{"kernel " + k->name, [=]() mutable { return launchNow(k, gx, gy, gz, bx, by, bz, values); }});
}

CUresult cuStreamBeginCapture_v2(CUstream h, CUstreamCaptureMode mode) {
    LOCK;
    REQUIRE_CONTEXT;
    if (h == nullptr) {
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED; // the legacy stream cannot be captured
    }
    Stream* s = streamOf(h);
    if (s == nullptr) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (s->capture != nullptr) {
        return CUDA_ERROR_ILLEGAL_STATE;
    }
    if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL
        && mode != CU_STREAM_CAPTURE_MODE_RELAXED) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    s->capture = new Graph();
    s->invalidated = false;
    counters["captures"]++;
    return CUDA_SUCCESS;
}

CUresult cuStreamEndCapture(CUstream h, CUgraph* out) {
    LOCK;
    REQUIRE_INIT;
    Stream* s = streamOf(h);
    if (s == nullptr || out == nullptr) {
        return s == nullptr ? CUDA_ERROR_INVALID_HANDLE : CUDA_ERROR_INVALID_VALUE;
    }
    if (s->capture == nullptr) {
        return CUDA_ERROR_ILLEGAL_STATE;
    }
    Graph* g = s->capture;
    s->capture = nullptr;
    if (s->invalidated) {
        delete g;
        *out = nullptr;
        return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
    }
    graphs.insert(g);
    *out = reinterpret_cast<CUgraph>(g);
    return CUDA_SUCCESS;
}

CUresult cuGraphInstantiateWithFlags(CUgraphExec* out, CUgraph h, unsigned long long flags) {
    LOCK;
    REQUIRE_CONTEXT;
    Graph* g = reinterpret_cast<Graph*>(h);
    if (out == nullptr || flags != 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (!graphs.count(g)) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    Graph* e = new Graph(*g);
    execs.insert(e);
    *out = reinterpret_cast<CUgraphExec>(e);
    return CUDA_SUCCESS;
}

CUresult cuGraphLaunch(CUgraphExec h, CUstream hs) {
    LOCK;
    REQUIRE_CONTEXT;
    Graph* e = reinterpret_cast<Graph*>(h);
    Stream* s = streamOf(hs);
    if (!execs.count(e) || s == nullptr) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    counters["graph launches"]++;
    for (const Op& op : e->ops) {
        enqueue(s, op);
    }
    return CUDA_SUCCESS;
}

CUresult cuGraphExecDestroy(CUgraphExec h) {
    LOCK;
    REQUIRE_INIT;
    Graph* e = reinterpret_cast<Graph*>(h);
    if (!execs.count(e)) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    execs.erase(e);
    delete e;
    return CUDA_SUCCESS;
}

CUresult cuGraphDestroy(CUgraph h) {
    LOCK;
    REQUIRE_INIT;
    Graph* g = reinterpret_cast<Graph*>(h);
    if (!graphs.count(g)) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    graphs.erase(g);
    delete g;
    return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult error, const char** out) {
    if (out == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *out = errorName(error);
    return *out == nullptr ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult error, const char** out) {
    if (out == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *out = errorString(error);
    return *out == nullptr ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

// ================= for the cuBLAS stand-in and for tests =================

// Queues host work on a stream (captured when the stream is capturing). run returns a CUresult.
int kiln_standin_enqueue(CUstream h, const char* what, int (*run)(void*), void* arg, void (*release)(void*)) {
    LOCK;
    REQUIRE_CONTEXT;
    Stream* s = streamOf(h);
    if (s == nullptr) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    std::shared_ptr<void> owned(arg, release);
    return enqueue(s, Op{what, [run, owned] { return CUresult(run(owned.get())); }});
}

// 1 when [p, p + bytes) lies inside one live device allocation.
int kiln_standin_device_range(const void* p, size_t bytes) {
    LOCK;
    return deviceRange(reinterpret_cast<uintptr_t>(p), bytes) ? 1 : 0;
}

int kiln_standin_has_context(void) {
    LOCK;
    return hasContext() && initialized ? 1 : 0;
}

// How often something happened since the library loaded: "launches", "kernels run", "captures", "graph launches",
// "stream syncs", "allocations", "ops", "modules loaded", "gemms" (counted by the cuBLAS stand-in).
long kiln_standin_counter(const char* name) {
    LOCK;
    auto it = counters.find(name);
    return it == counters.end() ? 0 : it->second;
}

void kiln_standin_count(const char* name) {
    LOCK;
    counters[name]++;
}

// ---- what kernel_host.h calls from inside a running kernel ----

const uint3* kiln_standin_thread_idx(void) { return &run.threadIdx[run.current]; }
const uint3* kiln_standin_block_idx(void) { return &run.blockIdx; }
const uint3* kiln_standin_block_dim(void) { return &run.blockDim; }
const uint3* kiln_standin_grid_dim(void) { return &run.gridDim; }

void kiln_standin_syncthreads(void) {
    if (++run.blockArrived == run.threads) {
        run.blockArrived = 0;
        for (int t = 0; t < run.threads; t++) {
            if (run.state[t] == AT_BLOCK_BARRIER) {
                run.state[t] = READY;
            }
        }
        return;
    }
    run.state[run.current] = AT_BLOCK_BARRIER;
    yieldToScheduler();
}

int kiln_standin_syncthreads_count(int predicate) {
    run.votes[run.current] = predicate != 0;
    kiln_standin_syncthreads();
    int count = 0;
    for (int v : run.votes) {
        count += v;
    }
    kiln_standin_syncthreads(); // nobody votes again before everyone has counted
    return count;
}

float kiln_standin_shfl_xor_f32(unsigned mask, float value, int laneMask) {
    (void) mask;
    int t = run.current, lane = t % 32;
    run.lanes[t] = value;
    warpBarrier();
    int from = t - lane + (lane ^ laneMask);
    float got = from < run.threads ? run.lanes[from] : value;
    warpBarrier();
    return got;
}

float kiln_standin_atomic_add_f32(float* address, float value) {
    float old = *address;
    *address = old + value;
    return old;
}

} // extern "C"
