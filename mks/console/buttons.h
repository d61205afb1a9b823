/*
 * mks/console/buttons.h - pointer button bits shared by the MKS input
 * paths (VNC, local console, pointer routing).
 *
 * The values are those of the PS/2 mouse (PS2MOUSE_BUTTON_* in
 * vmx/dev/chipset/ps2mouse.h) so a mask passes to ps2mouse_move()
 * unchanged; pointer.c checks that they agree at compile time.
 *
 * Wheel convention everywhere in mks/console: dz > 0 is the wheel turned
 * away from the user (scroll up), dw > 0 is scroll right.
 */
#ifndef MKS_CONSOLE_BUTTONS_H
#define MKS_CONSOLE_BUTTONS_H

#define MKS_BUTTON_LEFT 0x01u
#define MKS_BUTTON_RIGHT 0x02u
#define MKS_BUTTON_MIDDLE 0x04u
#define MKS_BUTTON_SIDE 0x08u    /* button 4, "back" */
#define MKS_BUTTON_EXTRA 0x10u   /* button 5, "forward" */
#define MKS_BUTTON_ALL 0x1fu

#endif
