/*
 * mks/svga/svga-ckpt.h - the SVGA device's checkpoint section (items are
 * listed in svga-ckpt.c). Called with the device lock held.
 */
#ifndef MKS_SVGA_SVGA_CKPT_H
#define MKS_SVGA_SVGA_CKPT_H

#include "mks/svga/svga-int.h"
#include "vmx/ckpt-items.h"

void svga_ckpt_save(svga *s, ckpt_writer *w);
/* Validate everything first; change nothing unless all is acceptable. */
bool svga_ckpt_restore(svga *s, ckpt_reader *r, char **err);

#endif
