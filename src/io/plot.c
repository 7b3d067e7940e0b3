/* A small line plotter for loss curves (metrics.csv): white canvas, framed axes with
 * numeric ticks, up to four coloured series and a legend in a built-in 5x7 font. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/image.h"
#include "runtime/runtime.h"

enum { W = CGAN_PLOT_W, H = CGAN_PLOT_H, LEFT = 64, RIGHT = 16, TOP = 12, BOTTOM = 30 };

typedef struct { uint8_t r, g, b; } rgb;
typedef struct { uint8_t *px; int clip; } canvas;   /* clip: keep inside the plot area */

static const rgb BLACK = { 0, 0, 0 }, GRID = { 225, 225, 225 }, FRAME = { 160, 160, 160 },
                 WHITE = { 255, 255, 255 };
static const rgb COLORS[CGAN_PLOT_MAX_SERIES] = {
    { 31, 119, 180 }, { 255, 127, 14 }, { 44, 160, 44 }, { 214, 39, 40 },
};

/* 5x7 glyphs, one byte per row top to bottom, bit 4 = leftmost column. The last
 * entry ('?') stands in for every character not in the list. */
static const char GLYPH_CHARS[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-+:_()/=%, ?";
static const uint8_t GLYPHS[][7] = {
    { 0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E }, { 0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E },
    { 0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F }, { 0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E },
    { 0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02 }, { 0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E },
    { 0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E }, { 0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08 },
    { 0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E }, { 0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C },
    { 0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11 }, { 0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E },
    { 0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E }, { 0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C },
    { 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F }, { 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10 },
    { 0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F }, { 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11 },
    { 0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E }, { 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C },
    { 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11 }, { 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F },
    { 0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11 }, { 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11 },
    { 0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E }, { 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10 },
    { 0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D }, { 0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11 },
    { 0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E }, { 0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 },
    { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E }, { 0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04 },
    { 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A }, { 0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11 },
    { 0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04 }, { 0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C }, { 0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00 },
    { 0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00 }, { 0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00 },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F }, { 0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02 },
    { 0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08 }, { 0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00 },
    { 0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00 }, { 0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03 },
    { 0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08 }, { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },
    { 0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04 },
};
_Static_assert(sizeof GLYPHS / sizeof GLYPHS[0] == sizeof GLYPH_CHARS - 1,
               "one glyph per character");

static void dot(canvas *c, int x, int y, rgb col)
{
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    if (c->clip && (x < LEFT || x > W - RIGHT || y < TOP || y > H - BOTTOM)) return;
    uint8_t *p = c->px + ((size_t)y * W + (size_t)x) * 3;
    p[0] = col.r;
    p[1] = col.g;
    p[2] = col.b;
}

static void rect(canvas *c, int x0, int y0, int x1, int y1, rgb col)   /* filled, inclusive */
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) dot(c, x, y, col);
}

/* Bresenham, two pixels thick. */
static void line(canvas *c, int x0, int y0, int x1, int y1, rgb col)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        rect(c, x0, y0, x0 + 1, y0 + 1, col);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

static int text_width(const char *s) { return s[0] ? (int)strlen(s) * 6 - 1 : 0; }

static void text(canvas *c, int x, int y, const char *s, rgb col)
{
    for (; *s; s++, x += 6) {
        const char *at = strchr(GLYPH_CHARS, toupper((unsigned char)*s));
        size_t g = at && *s ? (size_t)(at - GLYPH_CHARS) : sizeof GLYPH_CHARS - 2;
        for (int row = 0; row < 7; row++)
            for (int bit = 0; bit < 5; bit++)
                if (GLYPHS[g][row] & (0x10 >> bit)) dot(c, x + bit, y + row, col);
    }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about five intervals. */
static double nice_step(double range)
{
    double raw = range / 5.0, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * mag;
}

typedef struct { double lo, hi, step; } axis;

static axis make_axis(double lo, double hi)
{
    if (!(lo <= hi)) lo = 0.0, hi = 1.0;   /* no finite data */
    if (hi - lo < 1e-12 * (fabs(lo) + fabs(hi)) || hi == lo) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 0.5;
        lo -= d, hi += d;
    }
    axis a = { lo, hi, nice_step(hi - lo) };
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    return a;
}

static void tick_label(char *buf, size_t n, double v, double step)
{
    if (fabs(v) < step * 1e-6) v = 0.0;   /* no "-0" or "1e-17" */
    snprintf(buf, n, "%.4g", v);
}

/* Values plotted; the rest (NaN, inf, absurdly large) leave a gap. */
static int usable(double v) { return isfinite(v) && fabs(v) < 1e300; }

static void range_of(const double *v, int n, double *lo, double *hi)
{
    for (int i = 0; i < n; i++)
        if (usable(v[i])) {
            if (v[i] < *lo) *lo = v[i];
            if (v[i] > *hi) *hi = v[i];
        }
}

static void draw_axes(canvas *c, axis ax, axis ay)
{
    char buf[32];
    int pw = W - RIGHT - LEFT, ph = H - BOTTOM - TOP;
    int nx = (int)lround((ax.hi - ax.lo) / ax.step), ny = (int)lround((ay.hi - ay.lo) / ay.step);
    for (int i = 0; i <= ny; i++) {
        double v = ay.lo + i * ay.step;
        int y = H - BOTTOM - (int)lround((double)i * ph / ny);
        rect(c, LEFT, y, W - RIGHT, y, GRID);
        rect(c, LEFT - 4, y, LEFT - 1, y, BLACK);
        tick_label(buf, sizeof buf, v, ay.step);
        text(c, LEFT - 6 - text_width(buf), y - 3, buf, BLACK);
    }
    for (int i = 0; i <= nx; i++) {
        double v = ax.lo + i * ax.step;
        int x = LEFT + (int)lround((double)i * pw / nx);
        rect(c, x, TOP, x, H - BOTTOM, GRID);
        rect(c, x, H - BOTTOM + 1, x, H - BOTTOM + 4, BLACK);
        tick_label(buf, sizeof buf, v, ax.step);
        text(c, x - text_width(buf) / 2, H - BOTTOM + 8, buf, BLACK);
    }
    rect(c, LEFT, TOP, W - RIGHT, TOP, BLACK);
    rect(c, LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM, BLACK);
    rect(c, LEFT, TOP, LEFT, H - BOTTOM, BLACK);
    rect(c, W - RIGHT, TOP, W - RIGHT, H - BOTTOM, BLACK);
    text(c, W - RIGHT - text_width("STEP"), H - 8, "STEP", BLACK);
}

static void draw_series(canvas *c, axis ax, axis ay, const double *xs, const double *ys,
                        int n, rgb col)
{
    int pw = W - RIGHT - LEFT, ph = H - BOTTOM - TOP, have_prev = 0, px = 0, py = 0;
    c->clip = 1;
    for (int i = 0; i < n; i++) {
        if (!usable(xs[i]) || !usable(ys[i])) {
            have_prev = 0;   /* a gap */
            continue;
        }
        int x = LEFT + (int)lround((xs[i] - ax.lo) / (ax.hi - ax.lo) * pw);
        int y = H - BOTTOM - (int)lround((ys[i] - ay.lo) / (ay.hi - ay.lo) * ph);
        line(c, have_prev ? px : x, have_prev ? py : y, x, y, col);
        px = x, py = y, have_prev = 1;
    }
    c->clip = 0;
}

static void draw_legend(canvas *c, const char *const *labels, int nseries)
{
    char names[CGAN_PLOT_MAX_SERIES][25];
    int tw = 0;
    for (int s = 0; s < nseries; s++) {
        if (labels && labels[s]) snprintf(names[s], sizeof names[s], "%s", labels[s]);
        else snprintf(names[s], sizeof names[s], "series %d", s + 1);
        if (text_width(names[s]) > tw) tw = text_width(names[s]);
    }
    int bw = 6 + 16 + 4 + tw + 6, bh = 4 + nseries * 11 + 2;
    int x0 = W - RIGHT - 6 - bw, y0 = TOP + 6;
    rect(c, x0, y0, x0 + bw, y0 + bh, FRAME);
    rect(c, x0 + 1, y0 + 1, x0 + bw - 1, y0 + bh - 1, WHITE);
    for (int s = 0; s < nseries; s++) {
        int y = y0 + 5 + s * 11;
        rect(c, x0 + 6, y + 2, x0 + 21, y + 4, COLORS[s]);
        text(c, x0 + 26, y, names[s], BLACK);
    }
}

cgan_status cgan_plot_losses(cgan_ctx *ctx, const char *path, const double *steps,
                             const double *const series[], int nseries, int npoints,
                             const char *const *labels)
{
    if (nseries < 1 || nseries > CGAN_PLOT_MAX_SERIES || npoints < 0 ||
        (npoints > 0 && !steps))
        return cgan_error(ctx, CGAN_E_INVALID, "%s: plot needs 1 to %d series and "
                          "npoints >= 0 (got %d, %d)", path ? path : "plot",
                          CGAN_PLOT_MAX_SERIES, nseries, npoints);
    for (int s = 0; s < nseries; s++)
        if (npoints > 0 && !series[s])
            return cgan_error(ctx, CGAN_E_INVALID, "%s: plot series %d has no data",
                              path ? path : "plot", s + 1);
    canvas c = { malloc((size_t)W * H * 3), 0 };
    if (!c.px) return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", path);
    memset(c.px, 255, (size_t)W * H * 3);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    range_of(steps, npoints, &xlo, &xhi);
    for (int s = 0; s < nseries; s++) range_of(series[s], npoints, &ylo, &yhi);
    axis ax = make_axis(xlo, xhi), ay = make_axis(ylo, yhi);
    draw_axes(&c, ax, ay);
    for (int s = 0; s < nseries; s++)
        draw_series(&c, ax, ay, steps, series[s], npoints, COLORS[s]);
    draw_legend(&c, labels, nseries);
    cgan_status st = cgan_image_write(ctx, path, c.px, W, H, 3);
    free(c.px);
    return st;
}

/* One bar panel into c: n bars of v (NaN: no bar), names under them, a title above. */
static void draw_bars(canvas *c, const double *v, int n, const char *const *names, const char *title, rgb col)
{
    double lo = 0, hi = -INFINITY;
    range_of(v, n, &lo, &hi);
    if (!(hi > lo)) hi = lo + 1;
    axis ay = make_axis(0, hi * 1.08);   /* room for the value above the tallest bar */
    char buf[32];
    int ph = H - BOTTOM - TOP, pw = W - RIGHT - LEFT;
    int ny = (int)lround((ay.hi - ay.lo) / ay.step);
    for (int i = 0; i <= ny; i++) {
        int y = H - BOTTOM - (int)lround((double)i * ph / ny);
        rect(c, LEFT, y, W - RIGHT, y, GRID);
        rect(c, LEFT - 4, y, LEFT - 1, y, BLACK);
        tick_label(buf, sizeof buf, ay.lo + i * ay.step, ay.step);
        text(c, LEFT - 6 - text_width(buf), y - 3, buf, BLACK);
    }
    double slot = (double)pw / (n > 0 ? n : 1);
    int maxch = (int)(slot / 6) - 1;
    for (int i = 0; i < n; i++) {
        int x0 = LEFT + (int)lround(i * slot + slot * 0.15), x1 = LEFT + (int)lround((i + 1) * slot - slot * 0.15);
        if (x1 < x0) x1 = x0;
        if (usable(v[i])) {
            int y = H - BOTTOM - (int)lround((v[i] - ay.lo) / (ay.hi - ay.lo) * ph);
            rect(c, x0, y, x1, H - BOTTOM, col);
            snprintf(buf, sizeof buf, "%.3g", v[i]);
            if (text_width(buf) <= (int)slot) text(c, (x0 + x1) / 2 - text_width(buf) / 2, y - 9, buf, BLACK);
        }
        char name[40];
        if (names && names[i] && maxch >= 1) snprintf(name, sizeof name, "%.*s", maxch < 39 ? maxch : 39, names[i]);
        else snprintf(name, sizeof name, "%d", i);
        text(c, (x0 + x1) / 2 - text_width(name) / 2, H - BOTTOM + 8, name, BLACK);
    }
    rect(c, LEFT, TOP, LEFT, H - BOTTOM, BLACK);
    rect(c, LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM, BLACK);
    if (title) text(c, LEFT + 4, 3, title, BLACK);
}

cgan_status cgan_plot_bars(cgan_ctx *ctx, const char *path, const double *const panels[], int npanels, int n,
                           const char *const *names, const char *const *titles)
{
    if (npanels < 1 || npanels > CGAN_PLOT_MAX_SERIES || n < 1)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: a bar chart needs 1 to %d panels of at least one bar",
                          path ? path : "plot", CGAN_PLOT_MAX_SERIES);
    const size_t panel = (size_t)W * H * 3;
    uint8_t *px = malloc(panel * (size_t)npanels);
    canvas c = { malloc(panel), 0 };
    if (!px || !c.px) {
        free(px);
        free(c.px);
        return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", path);
    }
    for (int p = 0; p < npanels; p++) {   /* panels drawn one at a time, stacked */
        memset(c.px, 255, panel);
        draw_bars(&c, panels[p], n, names, titles ? titles[p] : NULL, COLORS[p]);
        memcpy(px + panel * (size_t)p, c.px, panel);
    }
    cgan_status st = cgan_image_write(ctx, path, px, W, H * npanels, 3);
    free(px);
    free(c.px);
    return st;
}
