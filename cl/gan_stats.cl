/* Training statistics, reduced on the device so the host reads them only when it logs. */

/* out[slot] = mean sigmoid(logit), out[slot + 1] = fraction of logits > 0.
 * One work-group; get_local_size(0) is a power of two. */
__kernel void logit_stats(const int n, __global const float *logits, __global float *out,
                          const int slot, __local float *s_prob, __local float *s_pos)
{
    const int lid = (int)get_local_id(0), lsz = (int)get_local_size(0);
    float p = 0.0f, q = 0.0f;
    for (int i = lid; i < n; i += lsz) {
        float x = logits[i];
        p += 1.0f / (1.0f + exp(-x));
        q += x > 0.0f ? 1.0f : 0.0f;
    }
    s_prob[lid] = p;
    s_pos[lid] = q;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = lsz / 2; s > 0; s >>= 1) {
        if (lid < s) {
            s_prob[lid] += s_prob[lid + s];
            s_pos[lid] += s_pos[lid + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        out[slot] = s_prob[0] / (float)n;
        out[slot + 1] = s_pos[0] / (float)n;
    }
}
