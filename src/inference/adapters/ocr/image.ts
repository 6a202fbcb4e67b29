// Image decoding for the OCR adapters, with sharp (libvips): the header is read first, so an
// image that is empty or too large is refused before any pixel is decoded.
import type sharpFn from 'sharp';
import type { Metadata } from 'sharp';
import { InvalidInputError, MessageTooLargeError } from '../../../errors.ts';

/** Row-major RGB, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

type SharpFn = typeof sharpFn;
let loading: Promise<SharpFn> | undefined;
/** sharp loads with the first image, not with the daemon: libvips is ~15 MB resident that a node without OCR models never needs. */
const lib = (): Promise<SharpFn> => (loading ??= import('sharp').then((m) => m.default));

const FORMATS = new Set(['png', 'jpeg', 'webp', 'gif', 'tiff']);

function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]?.slice(0, 200) ?? '';
}

/** Decode a PNG/JPEG (or WebP/GIF/TIFF) file to RGB; `input` names the tensor in errors. */
export async function decodeImage(bytes: Uint8Array, maxPixels: number, input = 'image'): Promise<RgbImage> {
  if (bytes.length === 0) throw new InvalidInputError(`input '${input}': empty; expected a PNG or JPEG file`);
  const sharp = await lib();
  let meta: Metadata;
  try {
    // limitInputPixels: false here, so an oversized header is reported with its size below.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new InvalidInputError(`input '${input}': not a readable image (${reason(e)}); expected a PNG or JPEG file`, { cause: e });
  }
  const { width, height, format } = meta;
  if (!FORMATS.has(format)) throw new InvalidInputError(`input '${input}': unsupported image format '${format}'; expected a PNG or JPEG file`);
  if (!(width > 0 && height > 0)) throw new InvalidInputError(`input '${input}': image is ${width}x${height}; expected at least 1x1 pixels`);
  if (width * height > maxPixels) {
    throw new MessageTooLargeError(`input '${input}': image is ${width}x${height} (${width * height} pixels); the limit is ${maxPixels} pixels`);
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    throw new InvalidInputError(`input '${input}': cannot decode the ${format} image (${reason(e)})`, { cause: e });
  }
}

/** Resize RGB pixels to exactly w x h (bilinear, as cv2.resize in PaddleOCR). */
export async function resizeRgb(img: RgbImage, w: number, h: number): Promise<Uint8Array> {
  if (w === img.width && h === img.height) return img.data;
  const sharp = await lib();
  const out = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, h, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
