/* abi-scan test program: links the mlx5 provider library directly (DT_NEEDED libmlx5.so.1)
 * for mlx5dv_query_device (MLX5_1.0) and mlx5dv_is_supported (MLX5_1.8). */
#include <stdio.h>
#include <infiniband/mlx5dv.h>

int main(void) {
    int n = 0;
    struct ibv_device **list = ibv_get_device_list(&n);
    if (!list || n == 0) return 77;
    if (mlx5dv_is_supported(list[0])) {
        struct ibv_context *ctx = ibv_open_device(list[0]);
        struct mlx5dv_context dv = {0};
        if (ctx && mlx5dv_query_device(ctx, &dv) == 0) printf("mlx5dv flags %#llx\n", (unsigned long long)dv.flags);
        if (ctx) ibv_close_device(ctx);
    }
    ibv_free_device_list(list);
    return 0;
}
