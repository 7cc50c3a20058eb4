; HEADER_BLOCK_START
; BambuStudio 02.00.01.50
; model printing time: 21s; total estimated time: 6m 39s
; total layer number: 3
; total filament length [mm] : 35.16
; total filament volume [cm^3] : 84.58
; total filament weight [g] : 0.11
; filament_density: 1.26
; filament_diameter: 1.75
; max_z_height: 0.60
; HEADER_BLOCK_END

; HEADER_BLOCK_START
; THUMBNAIL_BLOCK_START

; thumbnail begin 8x8 84
; iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAADklEQVR4nGNgGAWDEwAAAQAAAW0Gri8AAA
; thumbnail end
; THUMBNAIL_BLOCK_END

; CONFIG_BLOCK_START
; filament_type = PLA
; initial_layer_print_height = 0.2
; layer_height = 0.2
; nozzle_diameter = 0.4
; nozzle_temperature_initial_layer = 220
; hot_plate_temp_initial_layer = 55
; CONFIG_BLOCK_END

; EXECUTABLE_BLOCK_START
M140 S55
M190 S55
M109 S250 ; flush temperature
G1 E10 F300
M109 S220
G90
M83
G1 Z0.2 F600
G1 X20 Y20 F12000
G1 X40 Y20 E1.2 F3000
G1 X40 Y40 E1.2
G1 Z0.4 F600
G1 X20 Y40 E1.2 F3000
G1 Z0.6 F600
G1 X20 Y20 E1.2 F3000
; EXECUTABLE_BLOCK_END
