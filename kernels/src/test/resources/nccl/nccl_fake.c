/* A one-rank NCCL on host memory, for NcclTest: each function checks what a correct caller passes (the unique id
 * by value, the enum values, the communicator it handed out) and answers as NCCL would. */
#include "nccl_prototypes.h"
#include <string.h>

struct ncclComm { int magic; };
static struct ncclComm theComm = { 0x6b696c6e };
static float preMul = 1.0f;
static int preMulLive = 0;

ncclResult_t ncclGetVersion(int *version) { *version = 22703; return ncclSuccess; }

ncclResult_t ncclGetUniqueId(ncclUniqueId *uniqueId) {
    for (int i = 0; i < NCCL_UNIQUE_ID_BYTES; i++) uniqueId->internal[i] = (char) (i * 7 + 3);
    return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId commId, int rank) {
    if (nranks != 1 || rank != 0) return ncclInvalidArgument;
    for (int i = 0; i < NCCL_UNIQUE_ID_BYTES; i++) if (commId.internal[i] != (char) (i * 7 + 3)) return ncclInvalidUsage;
    *comm = &theComm;
    return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) { return comm == &theComm ? ncclSuccess : ncclInvalidArgument; }

const char *ncclGetErrorString(ncclResult_t result) {
    switch (result) {
        case ncclSuccess: return "no error";
        case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
        case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
        default: return "unknown result code";
    }
}

ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
    (void) stream;
    if (comm != &theComm || datatype != ncclFloat32) return ncclInvalidArgument;
    if (op != ncclSum && !(op == ncclNumOps && preMulLive)) return ncclInvalidArgument;
    float scale = op == ncclSum ? 1.0f : preMul;
    const float *in = (const float *) sendbuff;
    float *out = (float *) recvbuff;
    for (size_t i = 0; i < count; i++) out[i] = scale * in[i]; /* one rank: its own contribution */
    return ncclSuccess;
}

ncclResult_t ncclRedOpCreatePreMulSum(ncclRedOp_t *op, void *scalar, ncclDataType_t datatype,
                                      ncclScalarResidence_t residence, ncclComm_t comm) {
    if (comm != &theComm || datatype != ncclFloat32 || residence != ncclScalarHostImmediate) return ncclInvalidArgument;
    memcpy(&preMul, scalar, sizeof preMul);
    preMulLive = 1;
    *op = ncclNumOps;
    return ncclSuccess;
}

ncclResult_t ncclRedOpDestroy(ncclRedOp_t op, ncclComm_t comm) {
    if (comm != &theComm || op != ncclNumOps || !preMulLive) return ncclInvalidArgument;
    preMulLive = 0;
    return ncclSuccess;
}
