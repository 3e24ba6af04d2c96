//! How the program asks the allocator and the kernel for memory. Library users are not
//! affected: they keep their own allocator and settings.
//!
//! On a virtual machine the first write to a fresh page costs several times a write to a
//! mapped one, so page faults were a large part of a cold fit. Four settings cut them
//! (their measurements are in benches/README.md, "Measurements behind the code"):
//!
//! 1. Freed memory stays in the heap ([`keep_freed_memory`]). By default glibc gives every
//!    block of 128 KiB or more its own mapping and returns it to the kernel when freed, so
//!    each large vector of a fit (a column, X, the fitted values) was new memory. With the
//!    mapping threshold at glibc's maximum (32 MiB) and no trimming, later vectors reuse
//!    freed blocks: the reader's buffers serve the fit, and one fit's serve the next.
//! 2. [`Allocator`], the program's global allocator, passes large blocks to glibc with
//!    advice to the kernel that the whole 2 MiB pages inside every block of 2 MiB or more
//!    (except zeroed ones) may be transparent huge pages (`madvise(MADV_HUGEPAGE)`; in the
//!    kernel's "madvise" mode there are none without advice): one fault then maps a huge
//!    page. Zeroed blocks and the whole heap are not advised: a huge page is zeroed and kept
//!    whole, so a mostly untouched dense matrix would become resident in full. A huge
//!    page's first fault is fast only when the host already backs the memory, so the
//!    advice shortens the typical cold fit and lengthens a few; it stays for the typical
//!    case.
//! 3. Small blocks (under 32 KiB) go to mimalloc: a fit makes a few hundred of them, and
//!    glibc's malloc and free took a noticeable share of a small fit. The cost is the
//!    memory mimalloc commits up front.
//! 4. Blocks from 64 KiB to 2 MiB that are not zeroed have their fresh pages populated in
//!    one call when allocated ([`populate_if_fresh`]). Zeroed blocks are left alone (often
//!    touched sparsely).

use std::alloc::{GlobalAlloc, Layout, System};

/// Transparent huge page size on x86-64 and most aarch64 kernels; smaller blocks cannot
/// hold a whole one and get no advice.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const HUGE_PAGE: usize = 2 << 20;

/// See the module documentation.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters; it is called first thing in main,
    // before any other thread exists or any allocation this could disturb.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn keep_freed_memory() {}

/// The program's allocator (module documentation): mimalloc for small blocks, glibc's
/// with huge-page advice for large ones.
#[derive(Debug)]
pub(crate) struct Allocator;

/// Blocks from this size up to [`HUGE_PAGE`] that are not zeroed are populated when fresh
/// (see [`populate_if_fresh`]).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const POPULATE_FROM: usize = 64 << 10;

/// Map the fresh pages of a block that is about to be written, in one call
/// (`madvise(MADV_POPULATE_WRITE)`), instead of one fault per page at its first write.
/// Only when the block's first or last whole page is not resident (`mincore`): populating
/// pages already mapped walks them for nothing, which a warm process, reusing freed
/// blocks, would pay at every allocation. Advice only: errors are ignored (the pages then
/// fault as before).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn populate_if_fresh(ptr: *mut u8, size: usize) {
    // SAFETY: sysconf reads a constant of the system.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        p if p > 0 => p as usize,
        _ => return,
    };
    let start = (ptr as usize).next_multiple_of(page);
    let end = (ptr as usize + size) / page * page;
    if end <= start {
        return;
    }
    let fresh = |at: usize| {
        let mut resident = 0u8;
        // SAFETY: `at` is a page inside the block just handed out, and mincore writes one
        // byte for one page into `resident`.
        let ok = unsafe { libc::mincore(at as *mut libc::c_void, page, &mut resident) };
        ok == 0 && resident & 1 == 0
    };
    if fresh(start) || fresh(end - page) {
        // SAFETY: the range lies inside a block the allocator has just handed out;
        // populating maps its pages (zero-filled where new) and never changes contents.
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                end - start,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }
}

/// Prepare a block that is not zeroed, so about to be written: fresh pages of a block
/// under 2 MiB populated ([`populate_if_fresh`]); in a larger block, advice to the kernel
/// that the whole 2 MiB pages inside may be huge. Advice only: errors are ignored (the
/// pages are then ordinary ones).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn advise(ptr: *mut u8, size: usize) {
    if ptr.is_null() || size < POPULATE_FROM {
        return;
    }
    if size < HUGE_PAGE {
        populate_if_fresh(ptr, size);
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
    let end = (ptr as usize + size) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        // SAFETY: the range lies inside a block the allocator has just handed out, and
        // MADV_HUGEPAGE changes only how the kernel backs it, never its contents.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn advise(_ptr: *mut u8, _size: usize) {}

/// Blocks smaller than this go to [`Small`]; larger ones to glibc with huge-page advice.
/// The large-block policy above applies unchanged to every block of a fit that scales with
/// N or with the number of levels (columns, X, cross-products, factors); what is left below
/// are the many short-lived vectors of the fit's bookkeeping.
const SMALL: usize = 32 << 10;

/// The allocator of small blocks: mimalloc on Linux with glibc (see the module
/// documentation), the system allocator elsewhere.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
type Small = mimalloc::MiMalloc;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const SMALL_ALLOC: Small = mimalloc::MiMalloc;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
type Small = System;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const SMALL_ALLOC: Small = System;

// SAFETY: each block is served and released by one allocator, chosen by its size alone
// (the `Layout` given to `dealloc` and `realloc` is the one it was allocated with, so the
// choice is the same); a `realloc` across the threshold allocates in the other allocator,
// copies the smaller of the two sizes and frees the old block. `advise` does not touch the
// memory's contents or the allocator's state.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() < SMALL {
            // SAFETY: the caller's contract for `alloc` is passed on unchanged.
            return unsafe { SMALL_ALLOC.alloc(layout) };
        }
        // SAFETY: as above.
        let ptr = unsafe { System.alloc(layout) };
        advise(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() < SMALL {
            // SAFETY: as for `alloc`.
            return unsafe { SMALL_ALLOC.alloc_zeroed(layout) };
        }
        // No advice: zeroed blocks are often touched sparsely (a dense cross-product matrix
        // of which a fit writes a few blocks), and a huge page is zeroed and kept whole.
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match (layout.size() < SMALL, new_size < SMALL) {
            // SAFETY: as for `alloc`; the block came from the same allocator.
            (true, true) => unsafe { SMALL_ALLOC.realloc(ptr, layout, new_size) },
            (false, false) => {
                // SAFETY: as above.
                let ptr = unsafe { System.realloc(ptr, layout, new_size) };
                advise(ptr, new_size);
                ptr
            }
            _ => {
                // SAFETY: `realloc`'s contract makes `new_size`, rounded to the alignment,
                // a valid size for this alignment; `ptr` holds `layout.size()` bytes and
                // the new block `new_size`, and they are distinct blocks.
                unsafe {
                    let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() < SMALL {
            // SAFETY: as for `alloc`; the block came from the small allocator.
            return unsafe { SMALL_ALLOC.dealloc(ptr, layout) };
        }
        // SAFETY: as above, from the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod tests {
    use super::{Allocator, HUGE_PAGE, SMALL};
    use std::alloc::{GlobalAlloc, Layout};

    /// Writes `len` bytes of a pattern, checks `len` bytes of it.
    fn fill(ptr: *mut u8, len: usize) {
        for i in 0..len {
            // SAFETY: the callers pass blocks of at least `len` bytes.
            unsafe { *ptr.add(i) = (i % 251) as u8 };
        }
    }
    fn check(ptr: *const u8, len: usize) {
        for i in 0..len {
            // SAFETY: as for `fill`.
            assert_eq!(unsafe { *ptr.add(i) }, (i % 251) as u8, "byte {i}");
        }
    }

    #[test]
    fn blocks_keep_their_bytes_across_the_size_classes() {
        let a = Allocator;
        // small → small, small → large (mimalloc to glibc), large → large (populated and
        // huge-page sizes), large → small (back to mimalloc)
        let sizes = [100, SMALL - 8, SMALL + 8, 300 << 10, HUGE_PAGE + 4096, 5000];
        let mut layout = Layout::from_size_align(64, 16).unwrap();
        // SAFETY: a non-zero size and a valid alignment; each block is used within its
        // size and released once, with the layout it has.
        unsafe {
            let mut ptr = a.alloc(layout);
            assert!(!ptr.is_null());
            fill(ptr, 64);
            for &size in &sizes {
                let kept = layout.size().min(size);
                ptr = a.realloc(ptr, layout, size);
                assert!(!ptr.is_null());
                assert_eq!(ptr as usize % 16, 0, "alignment after growing to {size}");
                check(ptr, kept);
                layout = Layout::from_size_align(size, 16).unwrap();
                fill(ptr, size);
            }
            check(ptr, layout.size());
            a.dealloc(ptr, layout);
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_in_every_size_class() {
        let a = Allocator;
        for size in [24, SMALL + 1, 200 << 10, HUGE_PAGE + 1] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            // SAFETY: as above.
            unsafe {
                let ptr = a.alloc_zeroed(layout);
                assert!(!ptr.is_null());
                assert!((0..size).all(|i| *ptr.add(i) == 0), "size {size}");
                a.dealloc(ptr, layout);
            }
        }
    }

    #[test]
    fn over_aligned_blocks_keep_their_alignment() {
        let a = Allocator;
        for size in [48, SMALL * 2, 1 << 20] {
            let layout = Layout::from_size_align(size, 4096).unwrap();
            // SAFETY: as above.
            unsafe {
                let ptr = a.alloc(layout);
                assert!(!ptr.is_null());
                assert_eq!(ptr as usize % 4096, 0, "size {size}");
                fill(ptr, size);
                check(ptr, size);
                a.dealloc(ptr, layout);
            }
        }
    }
}
