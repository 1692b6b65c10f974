// nccl_standin.cpp: a one-rank CPU stand-in for NCCL (libnccl.so.2), for tests; it is not NCCL. It implements the
// entry points Kiln binds (kernels/src/main/java/dev/kiln/cuda/Nccl.java) on top of the driver stand-in
// (cuda_standin.cpp): an allreduce goes onto the given stream and runs at the stream's next synchronisation, or into
// the graph being captured there, as NCCL's kernels do on a GPU.
//
// nccl.h is not on this machine; the prototypes come from ../resources/nccl/nccl_prototypes.h, NCCL 2's own
// declarations of what Kiln binds, so the compiler checks this file against them.
//
// One rank: ncclCommInitRank accepts nranks 1, rank 0 and only an id ncclGetUniqueId made; an allreduce is this
// rank's own contribution (times the PreMulSum scalar). It checks what a GPU would fault on or NCCL would refuse:
// both buffers lie in one live device allocation each, the datatype is float32, the op is ncclSum or a live PreMulSum.
#include <cuda.h>

#include <cstring>
#include <map>
#include <random>

extern "C" {
#include "nccl_prototypes.h"
// From the driver stand-in.
int kiln_standin_enqueue(CUstream stream, const char* what, int (*run)(void*), void* arg, void (*release)(void*));
int kiln_standin_device_range(const void* p, size_t bytes);
int kiln_standin_has_context(void);
void kiln_standin_count(const char* name);
}

struct ncclComm {
    ncclUniqueId id;
    std::map<int, float> preMul; // live PreMulSum ops: their scalars
    int nextOp = ncclNumOps;
};

namespace {

ncclUniqueId lastId;
bool haveId = false;

struct AllReduce {
    const float* send;
    float* recv;
    size_t count;
    float scale;
};

int runAllReduce(void* p) {
    auto* a = static_cast<AllReduce*>(p);
    for (size_t i = 0; i < a->count; i++) {
        a->recv[i] = a->scale * a->send[i]; // memmove-safe: element by element, in place allowed
    }
    kiln_standin_count("nccl allreduces");
    return CUDA_SUCCESS;
}

} // namespace

extern "C" {

ncclResult_t ncclGetVersion(int* version) {
    if (version == nullptr) return ncclInvalidArgument;
    *version = 22703;
    return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId) {
    if (uniqueId == nullptr) return ncclInvalidArgument;
    std::random_device rd;
    for (int i = 0; i < NCCL_UNIQUE_ID_BYTES; i++) lastId.internal[i] = (char) rd();
    haveId = true;
    *uniqueId = lastId;
    return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank) {
    if (comm == nullptr || nranks != 1 || rank != 0) return ncclInvalidArgument;
    if (!haveId || std::memcmp(&commId, &lastId, sizeof commId) != 0) return ncclInvalidUsage; // not an id NCCL made
    if (!kiln_standin_has_context()) return ncclUnhandledCudaError; // NCCL needs a current device
    *comm = new ncclComm{commId, {}, ncclNumOps};
    return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    if (comm == nullptr) return ncclInvalidArgument;
    delete comm;
    return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
    switch (result) {
        case ncclSuccess: return "no error";
        case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
        case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
        case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
        default: return "unknown result code";
    }
}

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
    if (comm == nullptr || datatype != ncclFloat32) return ncclInvalidArgument;
    float scale = 1.0f;
    if (op != ncclSum) {
        auto it = comm->preMul.find(op);
        if (it == comm->preMul.end()) return ncclInvalidArgument;
        scale = it->second;
    }
    size_t bytes = count * sizeof(float);
    if (count > 0 && (!kiln_standin_device_range(sendbuff, bytes) || !kiln_standin_device_range(recvbuff, bytes))) {
        return ncclInvalidArgument; // a host pointer, or past an allocation's end: a fault on a GPU
    }
    auto* a = new AllReduce{static_cast<const float*>(sendbuff), static_cast<float*>(recvbuff), count, scale};
    int rc = kiln_standin_enqueue(reinterpret_cast<CUstream>(stream), "ncclAllReduce", runAllReduce, a,
                                  [](void* p) { delete static_cast<AllReduce*>(p); });
    return rc == CUDA_SUCCESS ? ncclSuccess : ncclUnhandledCudaError;
}

ncclResult_t ncclRedOpCreatePreMulSum(ncclRedOp_t* op, void* scalar, ncclDataType_t datatype,
                                      ncclScalarResidence_t residence, ncclComm_t comm) {
    if (op == nullptr || scalar == nullptr || comm == nullptr || datatype != ncclFloat32) return ncclInvalidArgument;
    if (residence != ncclScalarHostImmediate) return ncclInvalidArgument; // the only residence Kiln uses
    float s;
    std::memcpy(&s, scalar, sizeof s);
    int id = comm->nextOp++;
    comm->preMul[id] = s;
    *op = static_cast<ncclRedOp_t>(id);
    return ncclSuccess;
}

ncclResult_t ncclRedOpDestroy(ncclRedOp_t op, ncclComm_t comm) {
    if (comm == nullptr || comm->preMul.erase(op) == 0) return ncclInvalidArgument;
    return ncclSuccess;
}

} // extern "C"
