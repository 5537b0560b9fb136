/* A verbs header of ANOTHER stack, written for the abi-scan tests (not copied from any stack).
 * It reproduces the pattern that makes stack switches break silently: verbs that are static
 * inline functions calling through tables reached from struct ibv_context, so the binary
 * imports nothing that betrays them. Modelled on two real layouts:
 *  - OFED 1.5's libibverbs had `struct ibv_more_ops *more_ops` (XRC) inside struct ibv_context,
 *    so its ibv_context is larger than rdma-core's frozen IBVERBS_1.1 layout;
 *  - MLNX_OFED's experimental verbs (verbs_exp.h) reach `struct verbs_context_exp`, a table placed
 *    before the context, through an inline accessor, and call e.g. exp_query_device from it. */
#ifndef ABI_TEST_INLINE_CTX_H
#define ABI_TEST_INLINE_CTX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct ibv_device;
struct ibv_context;

struct ibv_context_ops {
    void *(*slots[32])(void); /* the classic op table: 32 pointers */
};

struct ibv_more_ops {
    void *(*create_xrc_srq)(void);
    void *(*open_xrc_domain)(void);
    int (*close_xrc_domain)(void);
};

struct ibv_context {
    struct ibv_device *device;
    struct ibv_context_ops ops;
    int cmd_fd;
    int async_fd;
    int num_comp_vectors;
    pthread_mutex_t mutex;
    void *abi_compat;
    struct ibv_more_ops *more_ops; /* the member the other stack does not have */
};

struct ibv_exp_device_attr {
    uint32_t comp_mask;
    uint64_t exp_device_cap_flags;
    uint32_t max_dc_req_rd_atom;
    uint32_t max_dc_res_rd_atom;
    uint8_t reserved[64];
};

struct verbs_context_exp {
    int (*exp_query_device)(struct ibv_context *context, struct ibv_exp_device_attr *attr);
    void *(*exp_create_dct)(struct ibv_context *context, void *attr);
    uint64_t exp_mask;
    size_t sz; /* must be just before the context, like rdma-core's verbs_context */
};

static inline struct verbs_context_exp *verbs_get_exp_ctx(struct ibv_context *ctx) {
    return (struct verbs_context_exp *)((uint8_t *)ctx - sizeof(struct verbs_context_exp));
}

/* The experimental verb: no symbol to import, a call through memory before the context. */
static inline int ibv_exp_query_device(struct ibv_context *ctx, struct ibv_exp_device_attr *attr) {
    struct verbs_context_exp *e = verbs_get_exp_ctx(ctx);
    if (!e->exp_query_device) return -1;
    return e->exp_query_device(ctx, attr);
}

/* The exported functions this header's stack shares with every libibverbs (IBVERBS_1.1). */
struct ibv_device **ibv_get_device_list(int *num_devices);
void ibv_free_device_list(struct ibv_device **list);
struct ibv_context *ibv_open_device(struct ibv_device *device);
int ibv_close_device(struct ibv_context *context);

#endif
