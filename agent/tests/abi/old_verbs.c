/* abi-scan test program: only verbs that every rdma-core (and the legacy libibverbs) has:
 * IBVERBS_1.1 imports plus the header's inline verbs (ibv_query_port, ibv_post_send). Never run
 * by the tests: they read it. */
#include <stdio.h>
#include <stdlib.h>
#include <infiniband/verbs.h>

int main(void) {
    int n = 0;
    struct ibv_device **list = ibv_get_device_list(&n);
    if (!list || n == 0) return 77;
    struct ibv_context *ctx = ibv_open_device(list[0]);
    if (!ctx) return 1;
    struct ibv_device_attr attr;
    struct ibv_port_attr port;
    if (ibv_query_device(ctx, &attr) || ibv_query_port(ctx, 1, &port)) return 1; /* ibv_query_port: inline */
    struct ibv_pd *pd = ibv_alloc_pd(ctx);
    struct ibv_cq *cq = ibv_create_cq(ctx, 4, NULL, NULL, 0);
    char *buf = malloc(64);
    struct ibv_mr *mr = ibv_reg_mr(pd, buf, 64, IBV_ACCESS_LOCAL_WRITE);
    struct ibv_qp_init_attr qpa = {.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
                                   .cap = {.max_send_wr = 1, .max_recv_wr = 1, .max_send_sge = 1, .max_recv_sge = 1}};
    struct ibv_qp *qp = ibv_create_qp(pd, &qpa);
    struct ibv_sge sge = {.addr = (uintptr_t)buf, .length = 64, .lkey = mr ? mr->lkey : 0};
    struct ibv_send_wr wr = {.sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND}, *bad;
    struct ibv_wc wc;
    if (qp) (void)ibv_post_send(qp, &wr, &bad); /* inline: qp->context->ops.post_send */
    (void)ibv_poll_cq(cq, 1, &wc);              /* inline: cq->context->ops.poll_cq */
    printf("%s\n", ibv_get_device_name(list[0]));
    ibv_destroy_qp(qp);
    ibv_dereg_mr(mr);
    ibv_destroy_cq(cq);
    ibv_dealloc_pd(pd);
    ibv_close_device(ctx);
    ibv_free_device_list(list);
    free(buf);
    return 0;
}
