// SPDX-License-Identifier: GPL-2.0
// daxref_page: read the reference counters of the page behind a pfn, for `daxref oracle`.
//
// Write "<pfn in hex>" to /proc/daxref_page, read back one line:
//   pfn=<hex> ref=<folio refcount> map=<folio mapcount> pin=<folio _pincount or -1>
//   order=<folio order> pgmap=<fsdax|generic|none> mapping=<null|tag:N|ino:N|bad>
// Nothing here takes a reference on the page: the pfn comes from the caller (FIEMAP or
// /proc/self/pagemap), and the mapping's inode number is read with fault-tolerant loads,
// since a stale mapping pointer is exactly the kind of bug this oracle looks for.
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/mm.h>
#include <linux/memremap.h>
#include <linux/uaccess.h>
#include <linux/version.h>

static char line[256];
static DEFINE_MUTEX(line_lock);

static const char *pgmap_kind(struct page *page)
{
	struct dev_pagemap *pgmap;

	if (!is_zone_device_page(page))
		return "none";
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
	pgmap = page_pgmap(page);
#else
	pgmap = page->pgmap;
#endif
	switch (pgmap->type) {
	case MEMORY_DEVICE_FS_DAX: return "fsdax";
	case MEMORY_DEVICE_GENERIC: return "generic";
	default: return "other";
	}
}

static void describe_mapping(struct folio *folio, char *buf, size_t len)
{
	struct address_space *mapping = READ_ONCE(folio->mapping);
	struct inode *host;
	unsigned long ino;

	if (!mapping) {
		snprintf(buf, len, "null");
	} else if ((unsigned long)mapping & 3) {
		/* PAGE_MAPPING_DAX_SHARED (old FS-DAX scheme), anon or movable tags */
		snprintf(buf, len, "tag:%lu", (unsigned long)mapping & 3);
	} else if (copy_from_kernel_nofault(&host, &mapping->host, sizeof(host)) ||
		   !host || copy_from_kernel_nofault(&ino, &host->i_ino, sizeof(ino))) {
		snprintf(buf, len, "bad");
	} else {
		snprintf(buf, len, "ino:%lu", ino);
	}
}

static ssize_t dp_write(struct file *file, const char __user *ubuf, size_t len, loff_t *off)
{
	char kbuf[32], mbuf[40];
	unsigned long pfn;
	struct page *page;
	struct folio *folio;
	size_t n = min(len, sizeof(kbuf) - 1);

	if (copy_from_user(kbuf, ubuf, n))
		return -EFAULT;
	kbuf[n] = 0;
	if (kstrtoul(strim(kbuf), 16, &pfn))
		return -EINVAL;
	mutex_lock(&line_lock);
	if (!pfn_valid(pfn)) {
		snprintf(line, sizeof(line), "pfn=%lx invalid\n", pfn);
	} else {
		page = pfn_to_page(pfn);
		folio = page_folio(page);
		describe_mapping(folio, mbuf, sizeof(mbuf));
		snprintf(line, sizeof(line), "pfn=%lx ref=%d map=%d pin=%d order=%u pgmap=%s mapping=%s\n",
			 pfn, folio_ref_count(folio), folio_mapcount(folio),
			 folio_test_large(folio) ? atomic_read(&folio->_pincount) : -1,
			 folio_order(folio), pgmap_kind(page), mbuf);
	}
	mutex_unlock(&line_lock);
	return len;
}

static ssize_t dp_read(struct file *file, char __user *ubuf, size_t len, loff_t *off)
{
	ssize_t r;

	mutex_lock(&line_lock);
	r = simple_read_from_buffer(ubuf, len, off, line, strlen(line));
	mutex_unlock(&line_lock);
	return r;
}

static const struct proc_ops dp_ops = {
	.proc_read = dp_read,
	.proc_write = dp_write,
};

static int __init dp_init(void)
{
	return proc_create("daxref_page", 0600, NULL, &dp_ops) ? 0 : -ENOMEM;
}

static void __exit dp_exit(void)
{
	remove_proc_entry("daxref_page", NULL);
}

module_init(dp_init);
module_exit(dp_exit);
MODULE_DESCRIPTION("daxref oracle: page reference counters by pfn");
MODULE_LICENSE("GPL");
