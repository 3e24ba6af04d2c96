//! The bundled font: DejaVu Sans (assets/fonts, Bitstream Vera license), registered with
//! plotters' ab_glyph text engine so rendering never needs a system font library.

use crate::DiagError;
use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

/// The font family name plots use.
pub(crate) const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");

/// Register the bundled font once per process.
pub(crate) fn ensure_font() -> Result<(), DiagError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        [FontStyle::Normal, FontStyle::Bold]
            .into_iter()
            .all(|style| register_font(FAMILY, style, DEJAVU_SANS).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(DiagError::Font)
    }
}
