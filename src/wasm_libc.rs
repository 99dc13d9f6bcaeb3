//! The few C library functions the pure-Rust JPEG 2000 decoder (`openjp2`, a translation of
//! OpenJPEG) calls. Natively the platform's C library provides them; on `wasm32-unknown-unknown`
//! there is none, so they are provided here on top of Rust's allocator. Without them the
//! module would import `env.malloc` and the like, and could not be instantiated in a browser.
//!
//! `openjp2` also hands null pointers to Rust's `dealloc` for code blocks it never filled
//! (harmless with a C library's `free`, a trap with the wasm allocator), so the global
//! allocator here ignores those.
//!
//! Every block carries a 16-byte header holding its size, so `free` and `realloc` can rebuild
//! the layout Rust's allocator needs.

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc as grow, GlobalAlloc, Layout, System};
use std::ffi::c_void;

/// The system allocator, except that freeing a null pointer does nothing (as in C).
struct NullTolerant;

unsafe impl GlobalAlloc for NullTolerant {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !ptr.is_null() {
            System.dealloc(ptr, layout)
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: NullTolerant = NullTolerant;

const HEADER: usize = 16;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

/// Store the size in front of a fresh block and return the part after the header.
unsafe fn finish(block: *mut u8, size: usize) -> *mut c_void {
    if block.is_null() {
        return std::ptr::null_mut();
    }
    (block as *mut usize).write(size);
    block.add(HEADER) as *mut c_void
}

/// The header of a block handed out by this module, and the size stored there.
unsafe fn header(ptr: *mut c_void) -> (*mut u8, usize) {
    let block = (ptr as *mut u8).sub(HEADER);
    (block, (block as *const usize).read())
}

/// C `malloc`.
///
/// # Safety
/// As in C: the result is freed only with this module's `free`.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    match layout(size) {
        Some(l) => finish(alloc(l), size),
        None => std::ptr::null_mut(),
    }
}

/// C `calloc`.
///
/// # Safety
/// As in C.
#[no_mangle]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    match count
        .checked_mul(size)
        .and_then(|total| Some((total, layout(total)?)))
    {
        Some((total, l)) => finish(alloc_zeroed(l), total),
        None => std::ptr::null_mut(),
    }
}

/// C `realloc`.
///
/// # Safety
/// As in C: `ptr` is null or came from this module.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() {
        return malloc(size);
    }
    let (block, old) = header(ptr);
    let (Some(old_layout), Some(_)) = (layout(old), layout(size)) else {
        return std::ptr::null_mut();
    };
    finish(grow(block, old_layout, size + HEADER), size)
}

/// C `free`.
///
/// # Safety
/// As in C: `ptr` is null or came from this module, and is freed once.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    let (block, size) = header(ptr);
    if let Some(l) = layout(size) {
        dealloc(block, l);
    }
}

/// C `strcpy`.
///
/// # Safety
/// As in C: `src` is NUL-terminated and `dst` has room for it.
#[no_mangle]
pub unsafe extern "C" fn strcpy(dst: *mut u8, src: *const u8) -> *mut u8 {
    let mut i = 0;
    loop {
        let c = src.add(i).read();
        dst.add(i).write(c);
        if c == 0 {
            return dst;
        }
        i += 1;
    }
}
