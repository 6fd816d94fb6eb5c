//! Reliability (issue 13): the handler keeps serving when its upstreams are slow, down or
//! broken ([`faults`], the table in [`matrix`]), sheds load it cannot take ([`overload`]),
//! holds steady under a long mixed load ([`soak`]), and any of several instances serves any
//! request ([`scale_out`]). [`rig`] starts a handler whose upstreams each sit behind a
//! [`door`] that can refuse connections.

mod door;
mod faults;
mod matrix;
mod overload;
mod rig;
mod scale_out;
mod soak;
