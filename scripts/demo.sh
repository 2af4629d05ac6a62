#!/usr/bin/env bash
# The main job on the shipped data, with the real `xrbid` commands (as in docs/walkthrough/).
#   X-ray steps on M101 (CSC 2.0 CSCview export): load -> unique -> region file -> calibrators
#   -> 1/2-sigma radii -> best observation per source -> 1/2-sigma region files.
#   Alignment on real Chandra/optical pairs (chandra-astromon), optical steps on HST images.
# Usage: scripts/demo.sh OUTDIR     (run through `make demo`, which installs xrbid first)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-demo-output}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
data="$here/testdata"
xrbid="${XRBID:-$here/.venv/bin/xrbid}"
[ -x "$xrbid" ] || xrbid=xrbid
cd "$out"
x() { echo "\$ xrbid $*"; "$xrbid" "$@" --overwrite; }

echo "== M101: the CSC table, one row per source, a region file to look at"
x csc load "$data/csc-m101/cscresults_M101.vot" -o m101.ecsv
x csc unique m101.ecsv -o m101_unique.ecsv
x regions write m101_unique.ecsv -o m101_cscsources.reg --radius 10arcsec --color hotpink \
  --width 2 --label-column source_id

echo "== M101: the XRBID guide's nine calibrators"
cat > calibrators.txt <<'IDS'
2CXO J140251.0+542420
2CXO J140248.0+542403
2CXO J140356.0+542057
2CXO J140355.8+542058
2CXO J140357.6+541856
2CXO J140339.3+541827
2CXO J140346.1+541615
2CXO J140253.3+541855
2CXO J140252.1+541946
IDS
x csc select m101_unique.ecsv --ids-file calibrators.txt -o m101_calibrators.ecsv
x regions write m101_calibrators.ecsv -o m101_calibrators.reg --radius 25arcsec --width 2

echo "== Alignment on real Chandra/optical pairs (ObsID 14536 of the Chandra astrometry monitor)"
astromon="$data/chandra-astromon"
x align median --xray "$astromon/astromon_xray_src.ecsv" --optical "$astromon/astromon_cat_src.ecsv" \
  --obsid 14536 --max-sep 1.5arcsec -o astromon_14536_median.json \
  --matched-regions astromon_14536_matched.reg --plot astromon_14536_median.png
x align wls --xray "$astromon/astromon_xray_src.ecsv" --reference "$astromon/astromon_cat_src.ecsv" \
  --obsid 14536 --weights uniform -o astromon_14536_wls.json --plot astromon_14536_wls.png

echo "== M101: 1/2-sigma radii (Kim et al. 2007 + the guide's alignment scatter, cos(dec) applied)"
x pu m101.ecsv --std 0.2223,0.3037 -o m101_pu.ecsv
x best m101_pu.ecsv -o m101_best.ecsv --regions-2sigma m101_bestrads_2sig.reg \
  --regions-1sigma m101_bestrads_1sig.reg
echo "== M101: the guide's published radii, reproduced (its scatter as printed, zero X-ray fallback)"
x pu m101.ecsv --std 0.3813,0.3037 --fallback zero --no-clamp -o m101_guide_pu.frame --headers xrbid
x best m101_guide_pu.frame -o m101_guide_best.frame --headers xrbid

echo "== HST WFPC2 F814W, Abell 478 (drizzled SCI): detection, DS9 regions, magnitudes"
a478="$data/hst-wfpc2-abell478/a478hst-cutout.fits"
x phot detect "$a478" -o a478_sources.ecsv --fwhm 0.2arcsec --threshold 5 --regions a478_sources.reg
x phot measure "$a478" --positions a478_sources.ecsv -o a478_phot.ecsv --radius 2pix \
  --large-radius 5pix --fwhm 0.2arcsec

echo "== HST WFPC2 F555W, Omega Cen (GEIS waiver c0f, chip 2): aperture correction on crowded stars"
omegacen="$data/hst-wfpc2-omegacen-c0f/u40x010hm_c0f.fits.gz"
x phot detect "$omegacen[chip=2]" -o omegacen_wf2_sources.ecsv --fwhm 1.5pix --threshold 5
x phot measure "$omegacen[chip=2]" --positions omegacen_wf2_sources.ecsv -o omegacen_wf2_phot.ecsv \
  --radius 2pix --large-radius 5pix --fwhm 1.5pix

echo "== HST ACS/WFC CANDELS GOODS-N (F606W, F814W, F850LP): three filters to a colour-magnitude diagram"
echo "   (no X-ray table covers this 3-arcsec cutout: its F606W detections stand in for the candidates)"
goodsn="$data/hst-acs-candels-goodsn/candels_gn_30mas_189.492060_62.206150_100.0pix-x-100.0pix_astrocut.fits"
x phot detect "$goodsn[1]" -o goodsn_f606w_sources.ecsv --fwhm 0.1arcsec --regions goodsn_f606w_sources.reg
x phot counterparts goodsn_f606w_sources.ecsv --image "F606W=$goodsn[1]" --image "F814W=$goodsn[2]" \
  --image "F850LP=$goodsn[3]" -o goodsn_phot.ecsv --radius 0.12arcsec --apcorr none --plot goodsn_cmd.png

echo
echo "demo outputs in $out:"
ls -1 "$out"
