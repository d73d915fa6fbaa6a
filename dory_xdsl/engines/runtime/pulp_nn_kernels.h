/*
 * PULP-NN 8-bit kernel prototypes called by dory-xdsl generated code (docs/pulp-nn-api.md).
 *
 * Include "pmsis.h" first: like the library header, this one includes nothing itself.
 *
 * Requant-constant width: the 32-bit variant of the library (`32bit/`) takes `int32_t *k,
 * int32_t *lambda`; the 64-bit variant (`64bit/`) has the same function names with `int64_t *k,
 * int64_t *lambda`. Build the whole application (and, on the host, pulp_nn_host.c) with
 * -DPULP_NN_REQUANT_64 to declare the 64-bit variant. As the real header, this one defines no
 * type name for either: generated code names int32_t / int64_t (DORY_PULP_NN_KL is private).
 */
#ifndef DORY_PULP_NN_KERNELS_H
#define DORY_PULP_NN_KERNELS_H

#ifdef PULP_NN_REQUANT_64
#define DORY_PULP_NN_KL int64_t
#else
#define DORY_PULP_NN_KL int32_t
#endif

void pulp_nn_conv_Ho_parallel(const uint8_t *pInBuffer, uint8_t *pIm2ColBuffer,
    const int8_t *bias, uint8_t *pOutBuffer, const int8_t *pWeight, DORY_PULP_NN_KL *k,
    DORY_PULP_NN_KL *lambda, const uint16_t out_mult, const uint16_t out_shift,
    const uint16_t dim_in_x, const uint16_t dim_in_y, const uint16_t ch_in,
    const uint16_t dim_out_x, const uint16_t dim_out_y, const uint16_t ch_out,
    const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
    const uint16_t padding_y_top, const uint16_t padding_y_bottom,
    const uint16_t padding_x_left, const uint16_t padding_x_right,
    const uint16_t stride_x, const uint16_t stride_y, int flag_relu, int flag_batch_norm);

void pulp_nn_pointwise_HoWo_parallel(const uint8_t *pInBuffer, uint8_t *pIm2ColBuffer,
    const int8_t *bias, uint8_t *pOutBuffer, const int8_t *pWeight, DORY_PULP_NN_KL *k,
    DORY_PULP_NN_KL *lambda, const uint16_t out_mult, const uint16_t out_shift,
    const uint16_t dim_in_x, const uint16_t dim_in_y, const uint16_t ch_in,
    const uint16_t dim_out_x, const uint16_t dim_out_y, const uint16_t ch_out,
    const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
    const uint16_t padding_y_top, const uint16_t padding_y_bottom,
    const uint16_t padding_x_left, const uint16_t padding_x_right,
    const uint16_t stride_x, const uint16_t stride_y, int flag_relu, int flag_batch_norm);

void pulp_nn_depthwise_generic(const uint8_t *Im_in, uint8_t *bufferC, const int8_t *bias,
    uint8_t *Im_out, const int8_t *wt, uint8_t *bufferB, DORY_PULP_NN_KL *k, DORY_PULP_NN_KL *lambda,
    uint16_t out_mult, uint16_t out_shift,
    const uint16_t dim_im_in_x, const uint16_t dim_im_in_y, const uint16_t ch_im_in,
    const uint16_t dim_im_out_x, const uint16_t dim_im_out_y, const uint16_t ch_im_out,
    const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
    const uint16_t padding_y_top, const uint16_t padding_y_bottom,
    const uint16_t padding_x_left, const uint16_t padding_x_right,
    const uint16_t stride_x, const uint16_t stride_y, int8_t FLAG_RELU, int8_t FLAG_BATCH_NORM);

void pulp_nn_depthwise_generic_less_4_weights(const uint8_t *Im_in, uint8_t *bufferC,
    const int8_t *bias, uint8_t *Im_out, const int8_t *wt, uint8_t *bufferB, DORY_PULP_NN_KL *k,
    DORY_PULP_NN_KL *lambda, uint16_t out_mult, uint16_t out_shift,
    const uint16_t dim_im_in_x, const uint16_t dim_im_in_y, const uint16_t ch_im_in,
    const uint16_t dim_im_out_x, const uint16_t dim_im_out_y, const uint16_t ch_im_out,
    const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
    const uint16_t padding_y_top, const uint16_t padding_y_bottom,
    const uint16_t padding_x_left, const uint16_t padding_x_right,
    const uint16_t stride_x, const uint16_t stride_y, int8_t FLAG_RELU, int8_t FLAG_BATCH_NORM);

void pulp_nn_linear(uint8_t *pInBuffer, int8_t *bias, uint8_t *pOutBuffer, int8_t *pWeights,
    DORY_PULP_NN_KL *k, DORY_PULP_NN_KL *lambda, uint16_t out_mult, int8_t out_shift,
    uint16_t dim_vec, uint16_t num_o_neurons, int flag_relu, int flag_batch_norm);

void pulp_nn_linear_out_32(uint8_t *pInBuffer, int8_t *bias, int32_t *pOutBuffer,
    int8_t *pWeights, uint16_t dim_vec, uint16_t num_o_neurons);

void pulp_nn_add(uint8_t *Im_in_1, uint8_t *Im_in_2, uint8_t *Im_out, uint16_t out_mult1,
    uint16_t out_mult2, uint16_t out_shift, uint16_t dim_im_in_h, uint16_t dim_im_in_w,
    uint16_t ch_im_in);

void pulp_nn_maxpool(uint8_t *Im_in, uint8_t *Im_out, uint16_t dim_im_in_x,
    uint16_t dim_im_in_y, uint16_t ch_im_in, uint16_t dim_im_out_x, uint16_t dim_im_out_y,
    uint16_t dim_kernel_x, uint16_t dim_kernel_y, uint16_t padding_t, uint16_t padding_b,
    uint16_t padding_l, uint16_t padding_r, uint16_t stride_x, uint16_t stride_y);

void pulp_nn_avgpool(uint8_t *Im_in, uint8_t *Im_out, int32_t lambda, uint16_t out_shift,
    int32_t out_add, uint16_t dim_im_in_x, uint16_t dim_im_in_y, uint16_t ch_im_in,
    uint16_t dim_im_out_x, uint16_t dim_im_out_y, uint16_t dim_kernel_x,
    uint16_t dim_kernel_y, uint16_t padding_t, uint16_t padding_b, uint16_t padding_l,
    uint16_t padding_r, uint16_t stride_x, uint16_t stride_y, int flag_requant);

#undef DORY_PULP_NN_KL

#endif /* DORY_PULP_NN_KERNELS_H */
