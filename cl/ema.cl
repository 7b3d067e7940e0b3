/* Exponential moving average of parameters over a flat range. */

/* ema[i] = decay * ema[i] + (1 - decay) * param[i]. With decay == 0 the old ema is not
 * read, so this also initialises an ema buffer that holds garbage. */
__kernel void ema_update(const int n, const float decay, const float one_minus_decay,
                         __global float *ema, __global const float *param)
{
    CGAN_1D_GUARD(i, n);
    float p = param[i];
    ema[i] = (decay == 0.0f) ? p : decay * ema[i] + one_minus_decay * p;
}
