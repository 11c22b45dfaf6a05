// The OBS overlays, /overlay/{id} and /overlay/{id}/{widget}.
import { idFrom, mount } from '../mount';
import { Overlay } from '../overlay';
import type { Widget } from '../overlay-options';

// Transparent from the first render: OBS composites the page.
document.documentElement.classList.add('overlay');
const widget = (location.pathname.split('/')[3] || 'alerts') as Widget;
mount(<Overlay id={idFrom('/overlay/')} widget={widget} />);
