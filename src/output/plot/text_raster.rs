//! A bitmap backend whose text is rasterised here rather than by plotters.
//!
//! plotters 0.3.7 draws `ab_glyph` text ignoring each glyph's left side bearing and
//! rounding the pen position per glyph, so letters drift ("LoadI ncrease"). This
//! wrapper delegates every shape to the plotters bitmap backend unchanged and draws
//! text itself: glyphs positioned at their exact (sub-pixel) pen position with kerning,
//! the same advance widths plotters uses to lay out the chart, and the capital letters
//! centred in plotters' text box so anchors line up with the SVG.

use ab_glyph::{point, Font, FontRef, Glyph, PxScale, ScaleFont};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

use super::PlotError;

/// plotters' font size is 1.24 times the height of its text layout box
/// (`plotters::style::font::ab_glyph`, `estimate_layout`); kept so boxes match.
const PLOTTERS_SIZE_PER_BOX_HEIGHT: f32 = 1.24;

pub(super) struct CrispTextBitmap<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> CrispTextBitmap<'a> {
    pub(super) fn new(
        inner: BitMapBackend<'a>,
        font_bytes: &'static [u8],
    ) -> Result<Self, PlotError> {
        let font = FontRef::try_from_slice(font_bytes).map_err(|_| PlotError::Font)?;
        Ok(CrispTextBitmap { inner, font })
    }

    /// Pixels (offset from the text's anchor, before rotation) and their coverage.
    fn rasterise(&self, text: &str, size: f32, h_pos: HPos, v_pos: VPos) -> Vec<(i32, i32, f32)> {
        let scale = PxScale::from(size);
        let scaled = self.font.as_scaled(scale);
        let mut pen_x = 0.0f32;
        let mut previous = None;
        let mut placed: Vec<(ab_glyph::GlyphId, f32)> = Vec::new();
        for character in text.chars() {
            let id = scaled.glyph_id(character);
            if let Some(previous) = previous {
                pen_x += scaled.kern(previous, id);
            }
            placed.push((id, pen_x));
            pen_x += scaled.h_advance(id);
            previous = Some(id);
        }
        let width = pen_x;
        let box_height = size / PLOTTERS_SIZE_PER_BOX_HEIGHT;
        let cap_height = scaled
            .outline_glyph(scaled.glyph_id('H').with_scale(scale))
            .map_or(box_height * 0.7, |outline| -outline.px_bounds().min.y);
        let left = match h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let top = match v_pos {
            VPos::Top => 0.0,
            VPos::Center => -box_height / 2.0,
            VPos::Bottom => -box_height,
        };
        let baseline = top + (box_height + cap_height) / 2.0;

        let mut pixels = Vec::new();
        for (id, x) in placed {
            let glyph: Glyph = id.with_scale_and_position(scale, point(left + x, baseline));
            if let Some(outline) = self.font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                outline.draw(|x, y, coverage| {
                    if coverage > 0.0 {
                        pixels.push((
                            bounds.min.x as i32 + x as i32,
                            bounds.min.y as i32 + y as i32,
                            coverage.min(1.0),
                        ));
                    }
                });
            }
        }
        pixels
    }
}

impl DrawingBackend for CrispTextBitmap<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vertices: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vertices, style)
    }

    fn blit_bitmap(
        &mut self,
        position: BackendCoord,
        size: (u32, u32),
        source: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(position, size, source)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        position: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let anchor = style.anchor();
        let transform = style.transform();
        let (width, height) = self.get_size();
        for (x, y, coverage) in
            self.rasterise(text, style.size() as f32, anchor.h_pos, anchor.v_pos)
        {
            let (dx, dy) = transform.transform(x, y);
            let (x, y) = (position.0 + dx, position.1 + dy);
            if x >= 0 && y >= 0 && (x as u32) < width && (y as u32) < height {
                let blended = BackendColor {
                    alpha: color.alpha * f64::from(coverage),
                    rgb: color.rgb,
                };
                self.inner.draw_pixel((x, y), blended)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend_pixels(text: &str, h_pos: HPos) -> Vec<(i32, i32, f32)> {
        let mut buffer = vec![255u8; 4 * 4 * 3];
        let backend = CrispTextBitmap::new(
            BitMapBackend::with_buffer(&mut buffer, (4, 4)),
            super::super::BUNDLED_FONT_BYTES,
        )
        .expect("bundled font loads");
        backend.rasterise(text, 24.0, h_pos, VPos::Top)
    }

    #[test]
    fn a_glyph_keeps_its_left_side_bearing() {
        // "I" starts a couple of pixels right of the pen; plotters' drawing puts it at 0.
        let leftmost = backend_pixels("I", HPos::Left)
            .iter()
            .map(|&(x, _, _)| x)
            .min()
            .unwrap();
        assert!(leftmost >= 1, "leftmost ink at {leftmost}");
    }

    #[test]
    fn centred_text_is_centred_on_its_anchor() {
        let pixels = backend_pixels("HH", HPos::Center);
        let leftmost = pixels.iter().map(|&(x, _, _)| x).min().unwrap();
        let rightmost = pixels.iter().map(|&(x, _, _)| x).max().unwrap();
        assert!((leftmost + rightmost).abs() <= 2, "{leftmost}..{rightmost}");
    }

    #[test]
    fn top_anchored_capitals_sit_below_the_anchor() {
        let pixels = backend_pixels("H", HPos::Left);
        let top = pixels.iter().map(|&(_, y, _)| y).min().unwrap();
        assert!((0..=3).contains(&top), "capital top at {top}");
    }
}
