/*
 * mks/console/keyinput.c - keysym and key code events to the guest
 * keyboard, with Shift fix-ups. See keyinput.h.
 */
#include "mks/console/keyinput.h"
#include "mks/console/keymap.h"
#include "vmx/vmxlog.h"

#include <glib.h>
#include <linux/input-event-codes.h>
#include <pthread.h>

#define NKEYCODES 256   /* every key in the keymap table is below this */
#define NSYMS_DOWN 32   /* keysyms remembered while held */
#define LOG_UNKNOWN_MAX 16

typedef struct sym_down {
   uint32_t keysym;
   uint16_t keycode;
} sym_down;

struct mks_keyinput {
   pthread_mutex_t lock;
   mks_keyinput_emit_fn emit;
   mks_keyinput_caps_fn caps;
   void *opaque;
   uint8_t down[NKEYCODES / 8];
   sym_down syms[NSYMS_DOWN];   /* keysym -> key it went down on */
   unsigned nsyms;
   unsigned unknown_logged;
};

mks_keyinput *
mks_keyinput_new(mks_keyinput_emit_fn emit, mks_keyinput_caps_fn caps, void *opaque)
{
   mks_keyinput *ki = g_new0(mks_keyinput, 1);
   pthread_mutex_init(&ki->lock, NULL);
   ki->emit = emit;
   ki->caps = caps;
   ki->opaque = opaque;
   return ki;
}

static void
ps2_emit(void *opaque, unsigned keycode, bool down)
{
   ps2kbd_key(opaque, keycode, down);
}

static bool
ps2_caps(void *opaque)
{
   return ps2kbd_leds(opaque) & PS2KBD_LED_CAPS;
}

mks_keyinput *
mks_keyinput_new_ps2kbd(ps2kbd *kbd)
{
   return mks_keyinput_new(ps2_emit, ps2_caps, kbd);
}

void
mks_keyinput_free(mks_keyinput *ki)
{
   if (!ki) {
      return;
   }
   pthread_mutex_destroy(&ki->lock);
   g_free(ki);
}

/* ---- lock held */

static bool
is_down(const mks_keyinput *ki, unsigned k)
{
   return k < NKEYCODES && (ki->down[k >> 3] & (1u << (k & 7)));
}

static void
emit_key(mks_keyinput *ki, unsigned k, bool down)
{
   if (k >= NKEYCODES) {
      return;
   }
   if (down) {
      ki->down[k >> 3] |= (uint8_t)(1u << (k & 7));
   } else {
      ki->down[k >> 3] &= (uint8_t)~(1u << (k & 7));
   }
   ki->emit(ki->opaque, k, down);
}

static bool
shortcut_modifier_down(const mks_keyinput *ki)
{
   static const unsigned mods[] = { KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_LEFTALT,
                                    KEY_RIGHTALT, KEY_LEFTMETA, KEY_RIGHTMETA };
   for (unsigned i = 0; i < G_N_ELEMENTS(mods); i++) {
      if (is_down(ki, mods[i])) {
         return true;
      }
   }
   return false;
}

static void
remember_sym(mks_keyinput *ki, uint32_t keysym, unsigned keycode)
{
   for (unsigned i = 0; i < ki->nsyms; i++) {
      if (ki->syms[i].keysym == keysym) {
         ki->syms[i].keycode = (uint16_t)keycode;
         return;
      }
   }
   if (ki->nsyms == NSYMS_DOWN) {
      /* More keys held than any keyboard has: forget the oldest. */
      for (unsigned i = 1; i < NSYMS_DOWN; i++) {
         ki->syms[i - 1] = ki->syms[i];
      }
      ki->nsyms--;
   }
   ki->syms[ki->nsyms].keysym = keysym;
   ki->syms[ki->nsyms].keycode = (uint16_t)keycode;
   ki->nsyms++;
}

/* The key a keysym went down on, forgotten; 0 if unknown. */
static unsigned
take_sym(mks_keyinput *ki, uint32_t keysym)
{
   for (unsigned i = 0; i < ki->nsyms; i++) {
      if (ki->syms[i].keysym == keysym) {
         unsigned k = ki->syms[i].keycode;
         ki->syms[i] = ki->syms[--ki->nsyms];
         return k;
      }
   }
   return 0;
}

/* Does this keysym need Shift (1), no Shift (0), or not care (-1)? */
static int
shift_wanted(mks_keyinput *ki, uint32_t keysym, const mks_keysym_info *info)
{
   if (mks_keymap_is_modifier(info->keycode) || shortcut_modifier_down(ki)) {
      return -1;
   }
   bool shifted = info->flags & MKS_KEYSYM_SHIFT;
   if (info->flags & MKS_KEYSYM_LETTER) {
      if (!ki->caps) {
         return -1;
      }
      return shifted != ki->caps(ki->opaque);
   }
   if (shifted) {
      return 1;
   }
   /* Printable symbols with a shifted partner on the same key; Space has
    * none, so Shift+Space stays as typed. */
   if (keysym > 0x20 && keysym < 0x7f) {
      return 0;
   }
   return -1;
}

bool
mks_keyinput_keysym(mks_keyinput *ki, uint32_t keysym, bool down)
{
   mks_keysym_info info;
   pthread_mutex_lock(&ki->lock);
   if (!down) {
      unsigned k = take_sym(ki, keysym);
      if (!k) {
         if (!mks_keymap_keysym(keysym, &info)) {
            pthread_mutex_unlock(&ki->lock);
            return false;
         }
         k = info.keycode;
      }
      if (is_down(ki, k)) {
         emit_key(ki, k, false);
      }
      pthread_mutex_unlock(&ki->lock);
      return true;
   }
   if (!mks_keymap_keysym(keysym, &info)) {
      if (ki->unknown_logged < LOG_UNKNOWN_MAX) {
         ki->unknown_logged++;
         vmxlog("MKS: keysym 0x%x has no key on a US keyboard; ignored%s", keysym,
                ki->unknown_logged == LOG_UNKNOWN_MAX ? " (not logging more)" : "");
      }
      pthread_mutex_unlock(&ki->lock);
      return false;
   }
   unsigned k = info.keycode;
   remember_sym(ki, keysym, k);
   int want = shift_wanted(ki, keysym, &info);
   bool ls = is_down(ki, KEY_LEFTSHIFT), rs = is_down(ki, KEY_RIGHTSHIFT);
   if (want == 1 && !ls && !rs) {
      emit_key(ki, KEY_LEFTSHIFT, true);
      emit_key(ki, k, true);
      emit_key(ki, KEY_LEFTSHIFT, false);
   } else if (want == 0 && (ls || rs)) {
      if (ls) {
         emit_key(ki, KEY_LEFTSHIFT, false);
      }
      if (rs) {
         emit_key(ki, KEY_RIGHTSHIFT, false);
      }
      emit_key(ki, k, true);
      if (ls) {
         emit_key(ki, KEY_LEFTSHIFT, true);
      }
      if (rs) {
         emit_key(ki, KEY_RIGHTSHIFT, true);
      }
   } else {
      emit_key(ki, k, true);
   }
   pthread_mutex_unlock(&ki->lock);
   return true;
}

bool
mks_keyinput_key(mks_keyinput *ki, unsigned keycode, bool down)
{
   if (!mks_keymap_known(keycode)) {
      return false;
   }
   pthread_mutex_lock(&ki->lock);
   if (down || is_down(ki, keycode)) {
      emit_key(ki, keycode, down);
   }
   pthread_mutex_unlock(&ki->lock);
   return true;
}

void
mks_keyinput_release_all(mks_keyinput *ki)
{
   pthread_mutex_lock(&ki->lock);
   for (int pass = 0; pass < 2; pass++) {
      for (unsigned k = 0; k < NKEYCODES; k++) {
         if (is_down(ki, k) && mks_keymap_is_modifier(k) == (pass == 1)) {
            emit_key(ki, k, false);
         }
      }
   }
   ki->nsyms = 0;
   pthread_mutex_unlock(&ki->lock);
}

bool
mks_keyinput_is_down(mks_keyinput *ki, unsigned keycode)
{
   pthread_mutex_lock(&ki->lock);
   bool d = is_down(ki, keycode);
   pthread_mutex_unlock(&ki->lock);
   return d;
}
