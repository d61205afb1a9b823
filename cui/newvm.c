/*
 * cui/newvm.c - the new-VM model, its checks, and the writer.
 */
#include "cui/newvm.h"
#include "lib/atomicfile.h"
#include "cui/inventory.h"
#include "cui/newvm-edit.h"
#include "cui/vmxedit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_BYTES   251          /* "<name>.vmx" must fit in 255 bytes */
#define CMDLINE_MAX      0xffffu      /* what the direct boot loader takes */
#define SERIAL_LOG       "serial0.log"

struct cui_newvm {
   char *v[CUI_NEWVM_N_FIELDS];
   unsigned host_cpus;
   uint64_t host_mem_mb;
   /* edit mode */
   bool edit;
   char *base_dir;          /* the VM's folder: relative paths start here */
   char *orig_guest_os;     /* kept even when not in the table */
   bool ide10_other;        /* ide1:0 holds something that is not a CD image */
};

/* ---- tables */

static const cui_newvm_guest_os guest_table[] = {
   { "other-64", "Other 64-bit", 512, 8 },
   { "other", "Other", 256, 8 },
   { "other5xlinux-64", "Other Linux 5.x and later kernel 64-bit", 2048, 20 },
   { "other4xlinux-64", "Other Linux 4.x kernel 64-bit", 1024, 20 },
   { "other3xlinux-64", "Other Linux 3.x kernel 64-bit", 1024, 20 },
   { "otherlinux-64", "Other Linux 64-bit", 1024, 20 },
   { "debian12-64", "Debian 12.x 64-bit", 2048, 20 },
   { "debian11-64", "Debian 11.x 64-bit", 2048, 20 },
   { "debian10-64", "Debian 10.x 64-bit", 1024, 20 },
   { "ubuntu-64", "Ubuntu 64-bit", 4096, 20 },
   { "fedora-64", "Fedora 64-bit", 2048, 20 },
   { "rhel9-64", "Red Hat Enterprise Linux 9 64-bit", 2048, 20 },
   { "opensuse-64", "openSUSE 64-bit", 2048, 20 },
   { "freebsd14-64", "FreeBSD 14 64-bit", 1024, 20 },
   { "freebsd13-64", "FreeBSD 13 64-bit", 1024, 20 },
   { "windows11-64", "Windows 11 x64", 4096, 64 },
   { "windows9-64", "Windows 10 x64", 2048, 60 },
   { "windows2019srvnext-64", "Windows Server 2022", 2048, 60 },
   { "windows2019srv-64", "Windows Server 2019", 2048, 60 },
   { "dos", "MS-DOS", 16, 2 },
};

const cui_newvm_guest_os *
cui_newvm_guest_os_list(size_t *n)
{
   *n = G_N_ELEMENTS(guest_table);
   return guest_table;
}

const cui_newvm_guest_os *
cui_newvm_guest_os_find(const char *id)
{
   for (size_t i = 0; id && i < G_N_ELEMENTS(guest_table); i++) {
      if (!g_ascii_strcasecmp(id, guest_table[i].id)) {
         return &guest_table[i];
      }
   }
   return NULL;
}

static const struct {
   const char *id, *label;
} field_names[CUI_NEWVM_N_FIELDS] = {
   [CUI_NEWVM_NAME] = { "name", "Name" },
   [CUI_NEWVM_LOCATION] = { "location", "Location" },
   [CUI_NEWVM_GUEST_OS] = { "guestOS", "Guest OS" },
   [CUI_NEWVM_CPUS] = { "cpus", "Processors" },
   [CUI_NEWVM_MEMORY] = { "memory", "Memory" },
   [CUI_NEWVM_ISO] = { "iso", "CD/DVD image" },
   [CUI_NEWVM_KERNEL] = { "kernel", "Kernel" },
   [CUI_NEWVM_INITRD] = { "initrd", "Initrd" },
   [CUI_NEWVM_CMDLINE] = { "cmdline", "Kernel command line" },
   [CUI_NEWVM_ENTRY] = { "entry", "Kernel entry" },
   [CUI_NEWVM_DISK] = { "disk", "Hard disk" },
   [CUI_NEWVM_DISK_BUS] = { "diskBus", "Disk bus" },
   [CUI_NEWVM_VNC_ENABLED] = { "vncEnabled", "VNC" },
   [CUI_NEWVM_VNC_PORT] = { "vncPort", "VNC port" },
   [CUI_NEWVM_VNC_PASSWORD] = { "vncPassword", "VNC password" },
   [CUI_NEWVM_MONITOR] = { "monitor", "Monitor mode" },
};

const char *
cui_newvm_field_label(cui_newvm_field f)
{
   return f < CUI_NEWVM_N_FIELDS ? field_names[f].label : "?";
}

const char *
cui_newvm_field_id(cui_newvm_field f)
{
   return f < CUI_NEWVM_N_FIELDS ? field_names[f].id : "?";
}

bool
cui_newvm_field_from_id(const char *id, cui_newvm_field *out)
{
   for (int f = 0; id && f < CUI_NEWVM_N_FIELDS; f++) {
      if (!strcmp(id, field_names[f].id)) {
         *out = (cui_newvm_field)f;
         return true;
      }
   }
   return false;
}

static const char *const entries[] = { "auto", "linux", "pvh", "multiboot" };
static const char *const monitors[] = { "automatic", "hardware", "software" };
static const char *const buses[] = { "scsi", "sata" };

/* The canonical spelling of a keyword, NULL when v is none of them. */
static const char *
keyword(const char *v, const char *const *words, size_t n)
{
   char *t = g_strstrip(g_strdup(v));
   const char *hit = NULL;
   for (size_t i = 0; i < n && !hit; i++) {
      if (!g_ascii_strcasecmp(t, words[i])) {
         hit = words[i];
      }
   }
   g_free(t);
   return hit;
}

/* ---- parsing */

static bool
parse_int(const char *s, int64_t *out)
{
   while (*s == ' ' || *s == '\t') {
      s++;
   }
   if (!g_ascii_isdigit(*s) && !((*s == '-' || *s == '+') && g_ascii_isdigit(s[1]))) {
      return false;
   }
   char *end = NULL;
   errno = 0;
   long long v = strtoll(s, &end, 10);
   while (*end == ' ' || *end == '\t') {
      end++;
   }
   if (errno || *end) {
      return false;
   }
   *out = v;
   return true;
}

static bool
parse_bool(const char *s, bool *out)
{
   static const char *const yes[] = { "true", "yes", "1", "on" };
   static const char *const no[] = { "false", "no", "0", "off" };
   char *t = g_strstrip(g_strdup(s));
   bool ok = false;
   for (size_t i = 0; i < G_N_ELEMENTS(yes) && !ok; i++) {
      if (!g_ascii_strcasecmp(t, yes[i])) {
         *out = ok = true;
      } else if (!g_ascii_strcasecmp(t, no[i])) {
         *out = false;
         ok = true;
      }
   }
   g_free(t);
   return ok;
}

static bool
has_control(const char *s)
{
   for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
      if (*p < 0x20 || *p == 0x7f) {
         return true;
      }
   }
   return false;
}

/* ---- the model */

static void
host_defaults(cui_newvm *m)
{
   m->host_cpus = g_get_num_processors();
   long pages = sysconf(_SC_PHYS_PAGES);
   long psz = sysconf(_SC_PAGESIZE);
   m->host_mem_mb = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz / (1024 * 1024) : 0;
}

static void
set_raw(cui_newvm *m, cui_newvm_field f, const char *value)
{
   g_free(m->v[f]);
   m->v[f] = g_strdup(value ? value : "");
}

static void
default_memory(cui_newvm *m, unsigned want)
{
   uint64_t mem = want;
   uint64_t half = m->host_mem_mb / 2 / 4 * 4;
   if (half >= CUI_NEWVM_MIN_MEMORY_MB && mem > half) {
      mem = half;
   }
   cui_newvm_set_int(m, CUI_NEWVM_MEMORY, (int64_t)mem);
}

static void
fill_defaults(cui_newvm *m)
{
   for (int f = 0; f < CUI_NEWVM_N_FIELDS; f++) {
      set_raw(m, (cui_newvm_field)f, "");
   }
   char *loc = g_build_filename(g_get_home_dir(), "vmware", NULL);
   set_raw(m, CUI_NEWVM_LOCATION, loc);
   g_free(loc);
   set_raw(m, CUI_NEWVM_GUEST_OS, "other-64");
   set_raw(m, CUI_NEWVM_CPUS, "1");
   default_memory(m, 1024);
   set_raw(m, CUI_NEWVM_ENTRY, "auto");
   set_raw(m, CUI_NEWVM_DISK_BUS, "scsi");
   set_raw(m, CUI_NEWVM_VNC_ENABLED, "false");
   set_raw(m, CUI_NEWVM_VNC_PORT, "5900");
   set_raw(m, CUI_NEWVM_MONITOR, "automatic");
}

cui_newvm *
cui_newvm_new(void)
{
   cui_newvm *m = g_new0(cui_newvm, 1);
   host_defaults(m);
   fill_defaults(m);
   return m;
}

void
cui_newvm_free(cui_newvm *m)
{
   if (!m) {
      return;
   }
   for (int f = 0; f < CUI_NEWVM_N_FIELDS; f++) {
      g_free(m->v[f]);
   }
   g_free(m->base_dir);
   g_free(m->orig_guest_os);
   g_free(m);
}

void
cui_newvm_set_host(cui_newvm *m, unsigned cpus, uint64_t memory_mb)
{
   m->host_cpus = cpus;
   m->host_mem_mb = memory_mb;
}

unsigned
cui_newvm_max_cpus(const cui_newvm *m)
{
   unsigned n = m->host_cpus ? m->host_cpus : 1;
   return n < CUI_NEWVM_MAX_CPUS ? n : CUI_NEWVM_MAX_CPUS;
}

uint64_t
cui_newvm_max_memory_mb(const cui_newvm *m)
{
   uint64_t host = m->host_mem_mb / 4 * 4;
   if (!host || host > CUI_NEWVM_MAX_MEMORY_MB) {
      return CUI_NEWVM_MAX_MEMORY_MB;
   }
   return host;
}

const char *
cui_newvm_get(const cui_newvm *m, cui_newvm_field f)
{
   return f < CUI_NEWVM_N_FIELDS ? m->v[f] : "";
}

void
cui_newvm_set(cui_newvm *m, cui_newvm_field f, const char *value)
{
   if (f >= CUI_NEWVM_N_FIELDS || (m->edit && f == CUI_NEWVM_LOCATION)) {
      return; /* an existing VM's folder is where it is */
   }
   set_raw(m, f, value);
}

void
cui_newvm_set_int(cui_newvm *m, cui_newvm_field f, int64_t value)
{
   char buf[32];
   g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, value);
   cui_newvm_set(m, f, buf);
}

void
cui_newvm_apply_guest_defaults(cui_newvm *m)
{
   const cui_newvm_guest_os *g = cui_newvm_guest_os_find(m->v[CUI_NEWVM_GUEST_OS]);
   if (g) {
      default_memory(m, g->memory_mb);
   }
}

/* ---- paths */

/* An absolute path for a path field: "~" is the home folder; relative
 * paths start at the VM's folder in edit mode and are refused (NULL)
 * otherwise. */
static char *
field_path(const cui_newvm *m, const char *v)
{
   if (v[0] == '~' && (v[1] == '/' || v[1] == '\0')) {
      return g_build_filename(g_get_home_dir(), v + 1, NULL);
   }
   if (g_path_is_absolute(v)) {
      return g_strdup(v);
   }
   if (m->edit && m->base_dir) {
      return g_build_filename(m->base_dir, v, NULL);
   }
   return NULL;
}

char *
cui_newvm_folder(const cui_newvm *m)
{
   if (m->edit) {
      return g_strdup(m->base_dir);
   }
   char *loc = field_path(m, m->v[CUI_NEWVM_LOCATION]);
   if (!loc) {
      return NULL;
   }
   char *dir = g_build_filename(loc, m->v[CUI_NEWVM_NAME], NULL);
   g_free(loc);
   return dir;
}

char *
cui_newvm_vmx_path(const cui_newvm *m)
{
   char *dir = cui_newvm_folder(m);
   if (!dir) {
      return NULL;
   }
   char *file = g_strdup_printf("%s.vmx", m->v[CUI_NEWVM_NAME]);
   char *p = g_build_filename(dir, file, NULL);
   g_free(file);
   g_free(dir);
   return p;
}

/* ---- checks */

typedef struct verdict {
   cui_newvm_severity sev;
   GString *msg;
} verdict;

static void
say(verdict *v, cui_newvm_field f, cui_newvm_severity sev, const char *fmt, ...)
   G_GNUC_PRINTF(4, 5);

static void
say(verdict *v, cui_newvm_field f, cui_newvm_severity sev, const char *fmt, ...)
{
   if (sev < v->sev) {
      return; /* an error already says what matters */
   }
   if (sev > v->sev) {
      g_string_truncate(v->msg, 0);
      v->sev = sev;
   }
   if (v->msg->len) {
      g_string_append(v->msg, "; ");
   } else {
      g_string_append_printf(v->msg, "%s: ", cui_newvm_field_label(f));
   }
   va_list ap;
   va_start(ap, fmt);
   g_string_append_vprintf(v->msg, fmt, ap);
   va_end(ap);
}

static bool
dir_empty(const char *path)
{
   GDir *d = g_dir_open(path, 0, NULL);
   if (!d) {
      return false;
   }
   bool empty = g_dir_read_name(d) == NULL;
   g_dir_close(d);
   return empty;
}

static void
check_name(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_NAME;
   const char *n = m->v[f];
   if (!*n) {
      say(v, f, CUI_NEWVM_ERROR, "enter a name for the virtual machine");
      return;
   }
   if (!g_utf8_validate(n, -1, NULL)) {
      say(v, f, CUI_NEWVM_ERROR, "not valid UTF-8 text");
      return;
   }
   if (has_control(n)) {
      say(v, f, CUI_NEWVM_ERROR, "must not contain control characters (such as a line break)");
      return;
   }
   if (m->edit) {
      if (strlen(n) > 1024) {
         say(v, f, CUI_NEWVM_ERROR, "longer than 1024 bytes");
      }
      return;
   }
   if (strchr(n, '/')) {
      say(v, f, CUI_NEWVM_ERROR, "must not contain '/': it also names the VM's folder and file");
      return;
   }
   if (!strcmp(n, ".") || !strcmp(n, "..")) {
      say(v, f, CUI_NEWVM_ERROR, "'%s' cannot name a folder", n);
      return;
   }
   if (g_ascii_isspace(n[0]) || g_ascii_isspace(n[strlen(n) - 1])) {
      say(v, f, CUI_NEWVM_ERROR, "must not start or end with a space");
      return;
   }
   if (strlen(n) > NAME_MAX_BYTES) {
      say(v, f, CUI_NEWVM_ERROR, "longer than %d bytes (it names the VM's folder and file)",
          NAME_MAX_BYTES);
      return;
   }
   char *dir = cui_newvm_folder(m);
   struct stat st;
   if (dir && lstat(dir, &st) == 0 && !(S_ISDIR(st.st_mode) && dir_empty(dir))) {
      say(v, f, CUI_NEWVM_ERROR, "%s already exists; choose another name or location", dir);
   }
   g_free(dir);
}

static void
check_location(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_LOCATION;
   if (m->edit) {
      return;
   }
   const char *l = m->v[f];
   if (!*l) {
      say(v, f, CUI_NEWVM_ERROR, "choose the folder to create the virtual machine in");
      return;
   }
   char *abs = field_path(m, l);
   if (!abs) {
      say(v, f, CUI_NEWVM_ERROR, "'%s' is not an absolute path", l);
      return;
   }
   /* The location itself, or the closest folder above it that exists
    * (the missing folders are made). */
   char *p = g_strdup(abs);
   struct stat st;
   while (stat(p, &st) < 0) {
      if (errno != ENOENT) {
         say(v, f, CUI_NEWVM_ERROR, "%s: %s", p, g_strerror(errno));
         goto out;
      }
      char *up = g_path_get_dirname(p);
      g_free(p);
      p = up;
   }
   if (!S_ISDIR(st.st_mode)) {
      say(v, f, CUI_NEWVM_ERROR, "%s is not a folder", p);
   } else if (access(p, W_OK | X_OK) < 0) {
      say(v, f, CUI_NEWVM_ERROR, "cannot create files in %s: %s", p, g_strerror(errno));
   }
out:
   g_free(p);
   g_free(abs);
}

static void
check_guest(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_GUEST_OS;
   const char *g = m->v[f];
   if (!*g) {
      say(v, f, CUI_NEWVM_ERROR, "choose the guest operating system");
   } else if (!cui_newvm_guest_os_find(g) &&
              !(m->orig_guest_os && !g_ascii_strcasecmp(g, m->orig_guest_os))) {
      say(v, f, CUI_NEWVM_ERROR, "'%s' is not a guest type this version offers", g);
   }
}

static void
check_cpus(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_CPUS;
   int64_t n;
   unsigned max = cui_newvm_max_cpus(m);
   if (!parse_int(m->v[f], &n)) {
      say(v, f, CUI_NEWVM_ERROR, "'%s' is not a whole number", m->v[f]);
   } else if (n < 1) {
      say(v, f, CUI_NEWVM_ERROR, "at least 1");
   } else if (n > max) {
      if (max == CUI_NEWVM_MAX_CPUS && m->host_cpus > CUI_NEWVM_MAX_CPUS) {
         say(v, f, CUI_NEWVM_ERROR, "at most %u (the limit for a virtual machine)", max);
      } else {
         say(v, f, CUI_NEWVM_ERROR, "at most %u (this host has %u)", max, m->host_cpus);
      }
   }
}

static void
check_memory(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_MEMORY;
   int64_t mb;
   uint64_t max = cui_newvm_max_memory_mb(m);
   if (!parse_int(m->v[f], &mb)) {
      say(v, f, CUI_NEWVM_ERROR, "'%s' is not a whole number of MB", m->v[f]);
   } else if (mb < CUI_NEWVM_MIN_MEMORY_MB) {
      say(v, f, CUI_NEWVM_ERROR, "at least %d MB", CUI_NEWVM_MIN_MEMORY_MB);
   } else if (mb % 4) {
      say(v, f, CUI_NEWVM_ERROR, "must be a multiple of 4 MB");
   } else if ((uint64_t)mb > max) {
      if (max == CUI_NEWVM_MAX_MEMORY_MB && m->host_mem_mb > CUI_NEWVM_MAX_MEMORY_MB) {
         say(v, f, CUI_NEWVM_ERROR, "at most %" G_GUINT64_FORMAT " MB (the limit for a "
             "virtual machine)", max);
      } else {
         say(v, f, CUI_NEWVM_ERROR, "at most %" G_GUINT64_FORMAT " MB (this host has %"
             G_GUINT64_FORMAT " MB)", max, m->host_mem_mb);
      }
   } else if (m->host_mem_mb && (uint64_t)mb > m->host_mem_mb / 2) {
      say(v, f, CUI_NEWVM_WARNING, "%" G_GINT64_FORMAT " MB is more than half of this host's "
          "%" G_GUINT64_FORMAT " MB; the host may run short of memory", mb, m->host_mem_mb);
   }
}

/* A file a field names: exists, a regular file, readable. Returns its
 * absolute path (NULL after saying why not). */
static char *
check_file(const cui_newvm *m, cui_newvm_field f, verdict *v)
{
   const char *val = m->v[f];
   char *abs = field_path(m, val);
   if (!abs) {
      say(v, f, CUI_NEWVM_ERROR, "'%s' is not an absolute path", val);
      return NULL;
   }
   struct stat st;
   if (stat(abs, &st) < 0) {
      say(v, f, CUI_NEWVM_ERROR, "%s: %s", abs, g_strerror(errno));
   } else if (S_ISDIR(st.st_mode)) {
      say(v, f, CUI_NEWVM_ERROR, "%s is a folder, not a file", abs);
   } else if (!S_ISREG(st.st_mode)) {
      say(v, f, CUI_NEWVM_ERROR, "%s is not a regular file", abs);
   } else if (access(abs, R_OK) < 0) {
      say(v, f, CUI_NEWVM_ERROR, "%s cannot be read: %s", abs, g_strerror(errno));
   } else {
      return abs;
   }
   g_free(abs);
   return NULL;
}

/* Up to n bytes of path from offset off; the count read. */
static size_t
read_at(const char *path, off_t off, void *buf, size_t n)
{
   int fd = open(path, O_RDONLY | O_CLOEXEC);
   if (fd < 0) {
      return 0;
   }
   ssize_t r = pread(fd, buf, n, off);
   close(fd);
   return r > 0 ? (size_t)r : 0;
}

static void
check_iso(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_ISO;
   if (!*m->v[f]) {
      return;
   }
   if (m->ide10_other) {
      say(v, f, CUI_NEWVM_ERROR, "ide1:0 already holds another device in this configuration");
      return;
   }
   char *abs = check_file(m, f, v);
   if (!abs) {
      return;
   }
   /* ISO 9660 and UDF both put a volume descriptor at sector 16. */
   char id[5] = { 0 };
   size_t n = read_at(abs, 16 * 2048 + 1, id, sizeof id);
   if (n < 5 || (memcmp(id, "CD001", 5) && memcmp(id, "BEA01", 5))) {
      say(v, f, CUI_NEWVM_WARNING, "%s does not look like an ISO 9660 or UDF image", abs);
   }
   say(v, f, CUI_NEWVM_WARNING, "the image is recorded in the configuration (ide1:0), but "
       "this version has no CD/DVD drive yet: the guest will not see it");
   g_free(abs);
}

static bool
is_kernel_image(const char *path)
{
   guint8 b[8192];
   size_t n = read_at(path, 0, b, sizeof b);
   if (n >= 4 && !memcmp(b, "\x7f" "ELF", 4)) {
      return true;                               /* vmlinux (PVH) or ELF multiboot */
   }
   if (n >= 0x206 && !memcmp(b + 0x202, "HdrS", 4)) {
      return true;                               /* bzImage (Linux boot protocol) */
   }
   for (size_t o = 0; o + 12 <= n; o += 4) {     /* multiboot v1 header */
      guint32 magic = GUINT32_FROM_LE(*(guint32 *)(void *)(b + o));
      guint32 flags = GUINT32_FROM_LE(*(guint32 *)(void *)(b + o + 4));
      guint32 sum = GUINT32_FROM_LE(*(guint32 *)(void *)(b + o + 8));
      if (magic == 0x1BADB002u && (guint32)(magic + flags + sum) == 0) {
         return true;
      }
   }
   return false;
}

static bool
has_kernel(const cui_newvm *m)
{
   return *m->v[CUI_NEWVM_KERNEL] != '\0';
}

static void
check_kernel(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_KERNEL;
   if (!has_kernel(m)) {
      return;
   }
   char *abs = check_file(m, f, v);
   if (abs && !is_kernel_image(abs)) {
      say(v, f, CUI_NEWVM_ERROR, "%s is not a Linux bzImage, an ELF kernel or a multiboot "
          "image", abs);
   }
   g_free(abs);
}

static void
check_initrd(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_INITRD;
   if (!*m->v[f]) {
      return;
   }
   if (!has_kernel(m)) {
      say(v, f, CUI_NEWVM_ERROR, "an initrd needs a kernel to boot");
      return;
   }
   g_free(check_file(m, f, v));
}

static void
check_cmdline(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_CMDLINE;
   const char *c = m->v[f];
   if (!*c) {
      return;
   }
   if (!has_kernel(m)) {
      say(v, f, CUI_NEWVM_ERROR, "a command line needs a kernel to boot");
   } else if (strlen(c) >= CMDLINE_MAX) {
      say(v, f, CUI_NEWVM_ERROR, "longer than %u bytes", CMDLINE_MAX - 1);
   } else if (has_control(c)) {
      say(v, f, CUI_NEWVM_ERROR, "must not contain control characters (such as a line break)");
   }
}

static void
check_entry(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_ENTRY;
   const char *e = keyword(m->v[f], entries, G_N_ELEMENTS(entries));
   if (!e) {
      say(v, f, CUI_NEWVM_ERROR, "'%s' is not one of auto, linux, pvh, multiboot", m->v[f]);
   } else if (strcmp(e, "auto") && !has_kernel(m)) {
      say(v, f, CUI_NEWVM_ERROR, "the %s entry needs a kernel to boot", e);
   }
}

static void
check_disk(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_DISK;
   const char *d = m->v[f];
   if (!*d) {
      return;
   }
   size_t n = strlen(d);
   if (n < 6 || g_ascii_strcasecmp(d + n - 5, ".vmdk")) {
      say(v, f, CUI_NEWVM_ERROR, "%s is not a VMware virtual disk (.vmdk) file", d);
      return;
   }
   char *abs = check_file(m, f, v);
   if (!abs) {
      return;
   }
   char head[21] = { 0 };
   size_t got = read_at(abs, 0, head, sizeof head);
   if (access(abs, W_OK) < 0) {
      say(v, f, CUI_NEWVM_ERROR, "%s is read-only; a virtual machine's disk must be writable",
          abs);
   } else if (!(got >= 4 && (!memcmp(head, "KDMV", 4) || !memcmp(head, "COWD", 4))) &&
              !(got >= 21 && !memcmp(head, "# Disk DescriptorFile", 21))) {
      say(v, f, CUI_NEWVM_ERROR, "%s is not a VMware virtual disk (no VMDK header or "
          "descriptor)", abs);
   } else {
      const char *bus = keyword(m->v[CUI_NEWVM_DISK_BUS], buses, G_N_ELEMENTS(buses));
      say(v, f, CUI_NEWVM_WARNING, "the disk is recorded in the configuration (%s0:0), but "
          "this version has no disk controller yet: the guest will not see it",
          bus ? bus : "scsi");
   }
   g_free(abs);
}

static void
check_bus(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_DISK_BUS;
   if (!keyword(m->v[f], buses, G_N_ELEMENTS(buses))) {
      say(v, f, CUI_NEWVM_ERROR, "'%s' is not scsi or sata", m->v[f]);
   }
}

static bool
vnc_on(const cui_newvm *m)
{
   bool on = false;
   return parse_bool(m->v[CUI_NEWVM_VNC_ENABLED], &on) && on;
}

static void
check_vnc(const cui_newvm *m, verdict *v)
{
   bool on;
   if (!parse_bool(m->v[CUI_NEWVM_VNC_ENABLED], &on)) {
      say(v, CUI_NEWVM_VNC_ENABLED, CUI_NEWVM_ERROR, "'%s' is not true or false",
          m->v[CUI_NEWVM_VNC_ENABLED]);
   }
}

static void
check_vnc_port(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_VNC_PORT;
   int64_t port;
   if (!parse_int(m->v[f], &port)) {
      say(v, f, CUI_NEWVM_ERROR, "'%s' is not a port number", m->v[f]);
   } else if (port < 0 || port > 65535) {
      say(v, f, CUI_NEWVM_ERROR, "%" G_GINT64_FORMAT " is not a TCP port (0-65535)", port);
   } else if (port > 0 && port < 1024) {
      say(v, f, CUI_NEWVM_ERROR, "ports below 1024 need administrator rights; use 5900-5999, "
          "or 0 to pick a free port at power-on");
   }
}

static void
check_vnc_password(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_VNC_PASSWORD;
   const char *pw = m->v[f];
   if (has_control(pw)) {
      say(v, f, CUI_NEWVM_ERROR, "must not contain control characters");
   } else if (strlen(pw) > 8) {
      say(v, f, CUI_NEWVM_WARNING, "VNC uses only the first 8 characters of a password");
   } else if (!*pw && vnc_on(m)) {
      say(v, f, CUI_NEWVM_WARNING, "without a password, anyone who can reach the VNC port "
          "can use the virtual machine's console");
   }
}

static void
check_monitor(const cui_newvm *m, verdict *v)
{
   const cui_newvm_field f = CUI_NEWVM_MONITOR;
   const char *mon = keyword(m->v[f], monitors, G_N_ELEMENTS(monitors));
   if (!mon) {
      say(v, f, CUI_NEWVM_ERROR, "'%s' is not automatic, hardware or software", m->v[f]);
   } else if (!strcmp(mon, "hardware") && access("/dev/kvm", R_OK | W_OK) < 0) {
      say(v, f, CUI_NEWVM_WARNING, "hardware needs /dev/kvm (%s); the virtual machine will "
          "not power on here", g_strerror(errno));
   }
}

cui_newvm_severity
cui_newvm_check(const cui_newvm *m, cui_newvm_field f, char **message)
{
   verdict v = { CUI_NEWVM_OK, g_string_new(NULL) };
   switch (f) {
   case CUI_NEWVM_NAME: check_name(m, &v); break;
   case CUI_NEWVM_LOCATION: check_location(m, &v); break;
   case CUI_NEWVM_GUEST_OS: check_guest(m, &v); break;
   case CUI_NEWVM_CPUS: check_cpus(m, &v); break;
   case CUI_NEWVM_MEMORY: check_memory(m, &v); break;
   case CUI_NEWVM_ISO: check_iso(m, &v); break;
   case CUI_NEWVM_KERNEL: check_kernel(m, &v); break;
   case CUI_NEWVM_INITRD: check_initrd(m, &v); break;
   case CUI_NEWVM_CMDLINE: check_cmdline(m, &v); break;
   case CUI_NEWVM_ENTRY: check_entry(m, &v); break;
   case CUI_NEWVM_DISK: check_disk(m, &v); break;
   case CUI_NEWVM_DISK_BUS: check_bus(m, &v); break;
   case CUI_NEWVM_VNC_ENABLED: check_vnc(m, &v); break;
   case CUI_NEWVM_VNC_PORT: check_vnc_port(m, &v); break;
   case CUI_NEWVM_VNC_PASSWORD: check_vnc_password(m, &v); break;
   case CUI_NEWVM_MONITOR: check_monitor(m, &v); break;
   case CUI_NEWVM_N_FIELDS: break;
   }
   if (message) {
      *message = v.sev != CUI_NEWVM_OK ? g_strdup(v.msg->str) : NULL;
   }
   g_string_free(v.msg, TRUE);
   return v.sev;
}

static void
issue_free(gpointer p)
{
   cui_newvm_issue *i = p;
   g_free(i->message);
   g_free(i);
}

GPtrArray *
cui_newvm_check_all(const cui_newvm *m)
{
   GPtrArray *out = g_ptr_array_new_with_free_func(issue_free);
   for (int f = 0; f < CUI_NEWVM_N_FIELDS; f++) {
      char *msg = NULL;
      cui_newvm_severity s = cui_newvm_check(m, (cui_newvm_field)f, &msg);
      if (s != CUI_NEWVM_OK) {
         cui_newvm_issue *i = g_new0(cui_newvm_issue, 1);
         i->field = (cui_newvm_field)f;
         i->severity = s;
         i->message = msg;
         g_ptr_array_add(out, i);
      }
   }
   return out;
}

bool
cui_newvm_valid(const cui_newvm *m)
{
   for (int f = 0; f < CUI_NEWVM_N_FIELDS; f++) {
      if (cui_newvm_check(m, (cui_newvm_field)f, NULL) == CUI_NEWVM_ERROR) {
         return false;
      }
   }
   return true;
}

/* ---- fields <-> .vmx keys */

static bool
cfg_true(const vmxcfg *cfg, const char *key, bool dflt)
{
   bool b = dflt;
   const char *v = vmxcfg_get(cfg, key);
   return v && parse_bool(v, &b) ? b : dflt;
}

/* The disk on bus0:0 (bus "scsi" or "sata"), NULL when there is none. */
static const char *
cfg_disk(const vmxcfg *cfg, const char *bus)
{
   char k[32];
   g_snprintf(k, sizeof k, "%s0:0.present", bus);
   if (!cfg_true(cfg, k, false)) {
      return NULL;
   }
   g_snprintf(k, sizeof k, "%s0:0.deviceType", bus);
   const char *type = vmxcfg_get(cfg, k);
   if (type && !strstr(type, "isk")) {   /* "disk", "scsi-hardDisk", "ata-hardDisk" */
      return NULL;
   }
   g_snprintf(k, sizeof k, "%s0:0.fileName", bus);
   const char *file = vmxcfg_get(cfg, k);
   return file && *file ? file : NULL;
}

static bool
cfg_cdrom_image(const vmxcfg *cfg)
{
   const char *type = vmxcfg_get(cfg, "ide1:0.deviceType");
   return type && !g_ascii_strcasecmp(type, "cdrom-image");
}

cui_newvm *
cui_newvm_new_edit(const char *abs_vmx, const vmxcfg *cfg)
{
   cui_newvm *m = cui_newvm_new();
   cui_newvm_edit_load(m, abs_vmx, cfg);
   return m;
}

void
cui_newvm_edit_load(cui_newvm *m, const char *abs_vmx, const vmxcfg *cfg)
{
   m->edit = true;
   fill_defaults(m);
   g_free(m->base_dir);
   g_free(m->orig_guest_os);
   m->ide10_other = false;
   m->base_dir = g_path_get_dirname(abs_vmx);
   set_raw(m, CUI_NEWVM_LOCATION, m->base_dir);
   const char *dn = vmxcfg_get(cfg, "displayName");
   if (dn && *dn) {
      set_raw(m, CUI_NEWVM_NAME, dn);
   } else {
      char *base = g_path_get_basename(abs_vmx);
      size_t n = strlen(base);
      if (n > 4 && !g_ascii_strcasecmp(base + n - 4, ".vmx")) {
         base[n - 4] = '\0';
      }
      set_raw(m, CUI_NEWVM_NAME, base);
      g_free(base);
   }
   const char *os = vmxcfg_get(cfg, "guestOS");
   set_raw(m, CUI_NEWVM_GUEST_OS, os ? os : "other");
   m->orig_guest_os = g_strdup(m->v[CUI_NEWVM_GUEST_OS]);
   const char *s;
   set_raw(m, CUI_NEWVM_CPUS, (s = vmxcfg_get(cfg, "numvcpus")) ? s : "1");
   set_raw(m, CUI_NEWVM_MEMORY, (s = vmxcfg_get(cfg, "memsize")) ? s : "256");
   set_raw(m, CUI_NEWVM_MONITOR, (s = vmxcfg_get(cfg, "monitor.virtual_exec")) ? s : "automatic");
   bool ide_present = cfg_true(cfg, "ide1:0.present", vmxcfg_get(cfg, "ide1:0.fileName") != NULL);
   if (ide_present && cfg_cdrom_image(cfg)) {
      s = vmxcfg_get(cfg, "ide1:0.fileName");
      set_raw(m, CUI_NEWVM_ISO, s);
   } else {
      m->ide10_other = ide_present;
   }
   set_raw(m, CUI_NEWVM_KERNEL, vmxcfg_get(cfg, "linux.kernel"));
   set_raw(m, CUI_NEWVM_INITRD, vmxcfg_get(cfg, "linux.initrd"));
   set_raw(m, CUI_NEWVM_CMDLINE, vmxcfg_get(cfg, "linux.cmdline"));
   set_raw(m, CUI_NEWVM_ENTRY, (s = vmxcfg_get(cfg, "linux.entry")) ? s : "auto");
   if ((s = cfg_disk(cfg, "scsi"))) {
      set_raw(m, CUI_NEWVM_DISK, s);
      set_raw(m, CUI_NEWVM_DISK_BUS, "scsi");
   } else if ((s = cfg_disk(cfg, "sata"))) {
      set_raw(m, CUI_NEWVM_DISK, s);
      set_raw(m, CUI_NEWVM_DISK_BUS, "sata");
   }
   set_raw(m, CUI_NEWVM_VNC_ENABLED,
           (s = vmxcfg_get(cfg, "RemoteDisplay.vnc.enabled")) ? s : "false");
   set_raw(m, CUI_NEWVM_VNC_PORT, (s = vmxcfg_get(cfg, "RemoteDisplay.vnc.port")) ? s : "5900");
   set_raw(m, CUI_NEWVM_VNC_PASSWORD, vmxcfg_get(cfg, "RemoteDisplay.vnc.password"));
}

/* The text a field is written as (NULL: the field's text is not valid). */
static char *
normalized(cui_newvm_field f, const char *v)
{
   int64_t n;
   bool b;
   const char *k;
   switch (f) {
   case CUI_NEWVM_CPUS:
   case CUI_NEWVM_MEMORY:
   case CUI_NEWVM_VNC_PORT:
      return parse_int(v, &n) ? g_strdup_printf("%" G_GINT64_FORMAT, n) : NULL;
   case CUI_NEWVM_VNC_ENABLED:
      return parse_bool(v, &b) ? g_strdup(b ? "TRUE" : "FALSE") : NULL;
   case CUI_NEWVM_ENTRY:
      return (k = keyword(v, entries, G_N_ELEMENTS(entries))) ? g_strdup(k) : NULL;
   case CUI_NEWVM_MONITOR:
      return (k = keyword(v, monitors, G_N_ELEMENTS(monitors))) ? g_strdup(k) : NULL;
   case CUI_NEWVM_DISK_BUS:
      return (k = keyword(v, buses, G_N_ELEMENTS(buses))) ? g_strdup(k) : NULL;
   case CUI_NEWVM_GUEST_OS: {
      const cui_newvm_guest_os *g = cui_newvm_guest_os_find(v);
      return g ? g_strdup(g->id) : g_ascii_strdown(v, -1); /* VMware ignores case */
   }
   default:
      return g_strdup(v);
   }
}

bool
cui_newvm_same(const cui_newvm *m, cui_newvm_field f, const char *other)
{
   char *a = normalized(f, m->v[f]);
   char *b = normalized(f, other ? other : "");
   bool same = a && b ? !strcmp(a, b) : !strcmp(m->v[f], other ? other : "");
   g_free(a);
   g_free(b);
   return same;
}

/* Set a key from a field's written form (skipped when it is not valid:
 * callers check first). */
static void
put(GPtrArray *ch, const char *key, cui_newvm_field f, const char *v)
{
   char *n = normalized(f, v);
   if (n) {
      cui_vmxedit_changes_add(ch, key, n);
   }
   g_free(n);
}

/* A path as it goes into the .vmx: as typed in edit mode (relative paths
 * stay relative to the VM's folder), absolute for a new VM. */
static char *
stored_path(const cui_newvm *m, const char *v)
{
   if (m->edit && !(v[0] == '~')) {
      return g_strdup(v);
   }
   char *abs = field_path(m, v);
   return abs ? abs : g_strdup(v);
}

static void
put_path(const cui_newvm *m, GPtrArray *ch, const char *key, const char *v)
{
   if (*v) {
      char *p = stored_path(m, v);
      cui_vmxedit_changes_add(ch, key, p);
      g_free(p);
   } else {
      cui_vmxedit_changes_add(ch, key, NULL);
   }
}

void
cui_newvm_changes(const cui_newvm *m, const vmxcfg *cfg, const bool *which, GPtrArray *ch)
{
   const char *const *v = (const char *const *)m->v;
   if (which[CUI_NEWVM_NAME]) {
      cui_vmxedit_changes_add(ch, "displayName", v[CUI_NEWVM_NAME]);
   }
   if (which[CUI_NEWVM_GUEST_OS]) {
      put(ch, "guestOS", CUI_NEWVM_GUEST_OS, v[CUI_NEWVM_GUEST_OS]);
   }
   if (which[CUI_NEWVM_CPUS]) {
      put(ch, "numvcpus", CUI_NEWVM_CPUS, v[CUI_NEWVM_CPUS]);
   }
   if (which[CUI_NEWVM_MEMORY]) {
      put(ch, "memsize", CUI_NEWVM_MEMORY, v[CUI_NEWVM_MEMORY]);
   }
   if (which[CUI_NEWVM_MONITOR]) {
      put(ch, "monitor.virtual_exec", CUI_NEWVM_MONITOR, v[CUI_NEWVM_MONITOR]);
   }
   if (which[CUI_NEWVM_ISO]) {
      if (*v[CUI_NEWVM_ISO]) {
         cui_vmxedit_changes_add(ch, "ide1:0.present", "TRUE");
         cui_vmxedit_changes_add(ch, "ide1:0.deviceType", "cdrom-image");
         put_path(m, ch, "ide1:0.fileName", v[CUI_NEWVM_ISO]);
         cui_vmxedit_changes_add(ch, "ide1:0.startConnected", "TRUE");
      } else if (cfg_cdrom_image(cfg)) {
         static const char *const keys[] = { "ide1:0.present", "ide1:0.deviceType",
                                             "ide1:0.fileName", "ide1:0.startConnected" };
         for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
            cui_vmxedit_changes_add(ch, keys[i], NULL);
         }
      }
   }
   if (which[CUI_NEWVM_KERNEL]) {
      put_path(m, ch, "linux.kernel", v[CUI_NEWVM_KERNEL]);
   }
   if (which[CUI_NEWVM_INITRD]) {
      put_path(m, ch, "linux.initrd", v[CUI_NEWVM_INITRD]);
   }
   if (which[CUI_NEWVM_CMDLINE]) {
      cui_vmxedit_changes_add(ch, "linux.cmdline",
                              *v[CUI_NEWVM_CMDLINE] ? v[CUI_NEWVM_CMDLINE] : NULL);
   }
   if (which[CUI_NEWVM_ENTRY]) {
      const char *e = keyword(v[CUI_NEWVM_ENTRY], entries, G_N_ELEMENTS(entries));
      cui_vmxedit_changes_add(ch, "linux.entry", e && strcmp(e, "auto") ? e : NULL);
   }
   if (which[CUI_NEWVM_DISK] || which[CUI_NEWVM_DISK_BUS]) {
      const char *bus = keyword(v[CUI_NEWVM_DISK_BUS], buses, G_N_ELEMENTS(buses));
      bool want = *v[CUI_NEWVM_DISK] && bus;
      for (size_t i = 0; i < G_N_ELEMENTS(buses); i++) {
         /* Drop the disk from where it was unless it stays there. */
         if (cfg_disk(cfg, buses[i]) && !(want && !strcmp(bus, buses[i]))) {
            char k[32];
            g_snprintf(k, sizeof k, "%s0:0.present", buses[i]);
            cui_vmxedit_changes_add(ch, k, NULL);
            g_snprintf(k, sizeof k, "%s0:0.fileName", buses[i]);
            cui_vmxedit_changes_add(ch, k, NULL);
         }
      }
      if (want) {
         char k[32];
         g_snprintf(k, sizeof k, "%s0.present", bus);
         cui_vmxedit_changes_add(ch, k, "TRUE");
         if (!strcmp(bus, "scsi") && !vmxcfg_get(cfg, "scsi0.virtualDev")) {
            cui_vmxedit_changes_add(ch, "scsi0.virtualDev", "lsilogic");
         }
         g_snprintf(k, sizeof k, "%s0:0.present", bus);
         cui_vmxedit_changes_add(ch, k, "TRUE");
         g_snprintf(k, sizeof k, "%s0:0.fileName", bus);
         put_path(m, ch, k, v[CUI_NEWVM_DISK]);
      }
   }
   if (which[CUI_NEWVM_VNC_ENABLED]) {
      put(ch, "RemoteDisplay.vnc.enabled", CUI_NEWVM_VNC_ENABLED, v[CUI_NEWVM_VNC_ENABLED]);
   }
   if (which[CUI_NEWVM_VNC_PORT]) {
      put(ch, "RemoteDisplay.vnc.port", CUI_NEWVM_VNC_PORT, v[CUI_NEWVM_VNC_PORT]);
   }
   if (which[CUI_NEWVM_VNC_PASSWORD]) {
      cui_vmxedit_changes_add(ch, "RemoteDisplay.vnc.password",
                              *v[CUI_NEWVM_VNC_PASSWORD] ? v[CUI_NEWVM_VNC_PASSWORD] : NULL);
   }
}

/* ---- writing a new VM */

/* Make dir and the folders above it that are missing; each one made is
 * appended to made (outermost first). */
static int
make_dirs(const char *dir, GPtrArray *made, char **err)
{
   struct stat st;
   if (stat(dir, &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
         *err = g_strdup_printf("%s is not a folder", dir);
         return -1;
      }
      return 0;
   }
   if (errno != ENOENT) {
      *err = g_strdup_printf("%s: %s", dir, g_strerror(errno));
      return -1;
   }
   char *up = g_path_get_dirname(dir);
   int r = strcmp(up, dir) ? make_dirs(up, made, err) : 0;
   g_free(up);
   if (r < 0) {
      return -1;
   }
   if (mkdir(dir, 0755) < 0) {
      *err = g_strdup_printf("cannot create %s: %s", dir, g_strerror(errno));
      return -1;
   }
   g_ptr_array_add(made, g_strdup(dir));
   return 0;
}

static void
undo_dirs(GPtrArray *made)
{
   for (guint i = made->len; i-- > 0;) {
      const char *d = g_ptr_array_index(made, i);
      rmdir(d);
      char *up = g_path_get_dirname(d);
      vmws_atomicfile_sync_dir(up);
      g_free(up);
   }
}

int
cui_newvm_write(const cui_newvm *m, cui_inventory *inv, char **vmx_out, char **err)
{
   if (m->edit) {
      *err = g_strdup("this model describes an existing virtual machine");
      return -1;
   }
   GPtrArray *issues = cui_newvm_check_all(m);
   GString *errs = g_string_new(NULL);
   for (guint i = 0; i < issues->len; i++) {
      cui_newvm_issue *is = g_ptr_array_index(issues, i);
      if (is->severity == CUI_NEWVM_ERROR) {
         g_string_append_printf(errs, "%s%s", errs->len ? "\n" : "", is->message);
      }
   }
   g_ptr_array_unref(issues);
   if (errs->len) {
      *err = g_string_free(errs, FALSE);
      return -1;
   }
   g_string_free(errs, TRUE);

   int r = -1;
   char *loc = field_path(m, m->v[CUI_NEWVM_LOCATION]);
   char *dir = cui_newvm_folder(m);
   char *vmx = cui_newvm_vmx_path(m);
   GPtrArray *made = g_ptr_array_new_with_free_func(g_free);
   bool wrote = false;
   if (make_dirs(loc, made, err) < 0) {
      goto out;
   }
   if (mkdir(dir, 0755) == 0) {
      g_ptr_array_add(made, g_strdup(dir));
      vmws_atomicfile_sync_dir(loc);
   } else {
      struct stat st;
      if (errno != EEXIST || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || !dir_empty(dir)) {
         *err = errno == EEXIST ? g_strdup_printf("%s already exists", dir)
                                : g_strdup_printf("cannot create %s: %s", dir, g_strerror(errno));
         goto out;
      }
      /* An empty folder of that name is used as it is. */
   }

   vmxcfg *cfg = vmxcfg_new();
   vmxcfg_set(cfg, ".encoding", "UTF-8");
   vmxcfg_set(cfg, "config.version", CUI_NEWVM_CONFIG_VERSION);
   vmxcfg_set(cfg, "virtualHW.version", CUI_NEWVM_VIRTUAL_HW);
   bool which[CUI_NEWVM_N_FIELDS];
   for (int f = 0; f < CUI_NEWVM_N_FIELDS; f++) {
      which[f] = true;
   }
   which[CUI_NEWVM_LOCATION] = false;
   bool vnc = vnc_on(m);
   which[CUI_NEWVM_VNC_ENABLED] = which[CUI_NEWVM_VNC_PORT] = vnc;
   which[CUI_NEWVM_VNC_PASSWORD] = vnc && *m->v[CUI_NEWVM_VNC_PASSWORD];
   GPtrArray *ch = cui_vmxedit_changes_new();
   cui_newvm_changes(m, cfg, which, ch);
   for (guint i = 0; i < ch->len; i++) {
      cui_vmxedit_change *c = g_ptr_array_index(ch, i);
      if (c->value) {
         vmxcfg_set(cfg, c->key, c->value);
      }
   }
   g_ptr_array_unref(ch);
   /* The guest's console goes to a log in the VM's folder. */
   vmxcfg_set(cfg, "serial0.present", "TRUE");
   vmxcfg_set(cfg, "serial0.fileType", "file");
   vmxcfg_set(cfg, "serial0.fileName", SERIAL_LOG);
   size_t len = 0;
   char *text = vmxcfg_write(cfg, &len);
   vmxcfg_free(cfg);
   /* A password in the file makes it private to its owner. */
   mode_t mode = which[CUI_NEWVM_VNC_PASSWORD] ? 0600 : 0644;
   int wr = vmws_atomicfile_write(vmx, text, len, mode, false, err);
   g_free(text);
   if (wr < 0) {
      goto out;
   }
   wrote = true;
   if (inv) {
      char *why = NULL;
      if (!cui_inventory_add(inv, vmx, 0, &why)) {
         *err = g_strdup_printf("%s was not made: it could not be added to the library: %s", vmx,
                                why);
         g_free(why);
         goto out;
      }
   }
   r = 0;
   if (vmx_out) {
      *vmx_out = g_strdup(vmx);
   }
out:
   if (r < 0) {
      if (wrote) {
         unlink(vmx);
         vmws_atomicfile_sync_dir(dir);
      }
      undo_dirs(made);
   }
   g_ptr_array_unref(made);
   g_free(loc);
   g_free(dir);
   g_free(vmx);
   return r;
}
