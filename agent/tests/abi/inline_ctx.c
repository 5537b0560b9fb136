/* abi-scan test program built with inline_ctx.h (another stack's header): with -g its DWARF
 * shows the foreign struct layouts (incompatible); stripped, nothing in it betrays them (unknown). */
#include <stdio.h>
#include "inline_ctx.h"

int main(void) {
    int n = 0;
    struct ibv_device **list = ibv_get_device_list(&n);
    if (!list || n == 0) return 77;
    struct ibv_context *ctx = ibv_open_device(list[0]);
    struct ibv_exp_device_attr attr = {.comp_mask = 1};
    if (ctx && ibv_exp_query_device(ctx, &attr) == 0)
        printf("exp caps %#llx\n", (unsigned long long)attr.exp_device_cap_flags);
    if (ctx) ibv_close_device(ctx);
    ibv_free_device_list(list);
    return 0;
}
