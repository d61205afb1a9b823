/*
 * ui/vmws-library.c - VmwsLibrary: the VM library as a list model.
 *
 * The list is rebuilt from the inventory after every change; VmwsVm
 * objects are kept across rebuilds (by inventory id and path), so their
 * watches and the widgets bound to them stay.
 */
#include "ui/vmws-library.h"
#include "cui/inventory.h"

#include <stdlib.h>

struct _VmwsLibrary {
   GObject parent;
   cui_inventory *inv;
   GPtrArray *vms; /* VmwsVm*, in display order */
};

static void vmws_library_model_init(GListModelInterface *iface);

G_DEFINE_TYPE_WITH_CODE(VmwsLibrary, vmws_library, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(G_TYPE_LIST_MODEL, vmws_library_model_init))

static GType
model_item_type(GListModel *model)
{
   return VMWS_TYPE_VM;
}

static guint
model_n_items(GListModel *model)
{
   return VMWS_LIBRARY(model)->vms->len;
}

static gpointer
model_item(GListModel *model, guint i)
{
   VmwsLibrary *lib = VMWS_LIBRARY(model);
   return i < lib->vms->len ? g_object_ref(g_ptr_array_index(lib->vms, i)) : NULL;
}

static void
vmws_library_model_init(GListModelInterface *iface)
{
   iface->get_item_type = model_item_type;
   iface->get_n_items = model_n_items;
   iface->get_item = model_item;
}

static void
vmws_library_finalize(GObject *obj)
{
   VmwsLibrary *lib = VMWS_LIBRARY(obj);
   g_ptr_array_unref(lib->vms);
   cui_inventory_free(lib->inv);
   G_OBJECT_CLASS(vmws_library_parent_class)->finalize(obj);
}

static void
vmws_library_class_init(VmwsLibraryClass *klass)
{
   G_OBJECT_CLASS(klass)->finalize = vmws_library_finalize;
}

static void
vmws_library_init(VmwsLibrary *lib)
{
   lib->vms = g_ptr_array_new_with_free_func(g_object_unref);
}

/* The path a vmx runs the VM by (links resolved), for the power watch. */
static char *
real_path(const char *path)
{
   char *r = realpath(path, NULL);
   char *g = g_strdup(r ? r : path);
   free(r);
   return g;
}

static VmwsVm *
find_old(GPtrArray *old, const cui_inventory_entry *e)
{
   for (guint i = 0; i < old->len; i++) {
      VmwsVm *vm = g_ptr_array_index(old, i);
      if (vmws_vm_get_inventory_id(vm) == e->id) {
         char *rp = real_path(e->path);
         gboolean same = g_strcmp0(rp, vmws_vm_get_path(vm)) == 0;
         g_free(rp);
         if (same) {
            return vm;
         }
      }
   }
   return NULL;
}

static void
collect(VmwsLibrary *lib, unsigned parent, GPtrArray *old, GPtrArray *out)
{
   GPtrArray *kids = cui_inventory_children(lib->inv, parent);
   for (guint i = 0; i < kids->len; i++) {
      const cui_inventory_entry *e = g_ptr_array_index(kids, i);
      if (e->is_folder) {
         collect(lib, e->id, old, out);
         continue;
      }
      VmwsVm *vm = find_old(old, e);
      if (vm) {
         g_object_ref(vm);
         vmws_vm_set_name(vm, e->name);
      } else {
         char *rp = real_path(e->path);
         vm = vmws_vm_new(e->id, rp, e->name);
         g_free(rp);
      }
      const char *problem = e->missing ? "The virtual machine's configuration file is missing"
                                       : e->problem;
      vmws_vm_set_problem(vm, problem);
      g_ptr_array_add(out, vm);
   }
   g_ptr_array_unref(kids);
}

/* Rebuild the list from the inventory and tell the views. */
static void
rebuild(VmwsLibrary *lib)
{
   GPtrArray *old = lib->vms;
   GPtrArray *now = g_ptr_array_new_with_free_func(g_object_unref);
   collect(lib, 0, old, now);
   guint removed = old->len;
   lib->vms = now;
   /* One change for the whole list keeps this simple; the VM objects
    * (and so the selection's item) survive. Skip it when nothing moved. */
   gboolean same = old->len == now->len;
   for (guint i = 0; same && i < now->len; i++) {
      same = g_ptr_array_index(old, i) == g_ptr_array_index(now, i);
   }
   g_ptr_array_unref(old);
   if (!same) {
      g_list_model_items_changed(G_LIST_MODEL(lib), 0, removed, now->len);
   }
}

VmwsLibrary *
vmws_library_new(const char *path)
{
   VmwsLibrary *lib = g_object_new(VMWS_TYPE_LIBRARY, NULL);
   lib->inv = cui_inventory_load(path);
   rebuild(lib);
   return lib;
}

const char *const *
vmws_library_warnings(VmwsLibrary *lib)
{
   return cui_inventory_warnings(lib->inv);
}

const char *
vmws_library_path(VmwsLibrary *lib)
{
   return cui_inventory_path(lib->inv);
}

cui_inventory *
vmws_library_inventory(VmwsLibrary *lib)
{
   return lib->inv;
}

guint
vmws_library_position(VmwsLibrary *lib, VmwsVm *vm)
{
   guint i;
   return g_ptr_array_find(lib->vms, vm, &i) ? i : G_MAXUINT;
}

VmwsVm *
vmws_library_find_path(VmwsLibrary *lib, const char *vmx_path)
{
   char *rp = real_path(vmx_path);
   VmwsVm *found = NULL;
   for (guint i = 0; i < lib->vms->len && !found; i++) {
      VmwsVm *vm = g_ptr_array_index(lib->vms, i);
      if (!g_strcmp0(vmws_vm_get_path(vm), rp)) {
         found = vm;
      }
   }
   g_free(rp);
   return found;
}

VmwsVm *
vmws_library_open(VmwsLibrary *lib, const char *path, gboolean *added, GError **error)
{
   char *err = NULL;
   bool add = false;
   const cui_inventory_entry *e = cui_inventory_open(lib->inv, path, &add, &err);
   if (!e) {
      g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, err);
      g_free(err);
      return NULL;
   }
   char *vmx = g_strdup(e->path);
   if (added) {
      *added = add;
   }
   rebuild(lib);
   VmwsVm *vm = vmws_library_find_path(lib, vmx);
   g_free(vmx);
   return vm;
}

VmwsVm *
vmws_library_reload_and_find(VmwsLibrary *lib, const char *vmx_path)
{
   /* The writer added it through our own inventory object: just rebuild. */
   cui_inventory_refresh(lib->inv);
   rebuild(lib);
   return vmws_library_find_path(lib, vmx_path);
}

gboolean
vmws_library_remove(VmwsLibrary *lib, VmwsVm *vm, GError **error)
{
   char *err = NULL;
   if (!cui_inventory_remove(lib->inv, vmws_vm_get_inventory_id(vm), &err)) {
      g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, err);
      g_free(err);
      return FALSE;
   }
   rebuild(lib);
   return TRUE;
}

void
vmws_library_refresh(VmwsLibrary *lib)
{
   cui_inventory_refresh(lib->inv);
   rebuild(lib); /* names and problems are taken again for every VM */
}
